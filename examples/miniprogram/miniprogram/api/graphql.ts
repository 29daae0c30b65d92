// A small GraphQL client for the mini-program runtime: wx.request, wx.login
// and wx.*StorageSync only (no fetch, no Node APIs, no GraphQL framework).
//
// - Sign-in: wx.login() gives a one-time code, the `login` mutation trades it
//   for wxtodo's session token, and the token is kept with wx.setStorageSync.
// - Every request carries `Authorization: Bearer <token>`. A call made with
//   no token stored signs in first.
// - When the server answers UNAUTHENTICATED (token missing, invalid or
//   expired), the call signs in again once, silently, and is retried once.
//   Calls that hit UNAUTHENTICATED together share one sign-in.
// - Failures are thrown as GraphQLClientError with the server's
//   `extensions.code` (and `reason`, `field` when present), or a code of
//   the client's own: NETWORK_ERROR, HTTP_ERROR, BAD_RESPONSE,
//   WX_LOGIN_FAILED.

import { LoginDocument, LogoutDocument } from './generated/operations';
import type { LoginMutation } from './generated/operations';
import type { ErrorCode, ErrorReason } from './generated/schema';

/**
 * A GraphQL document with its result and variables types, such as the
 * `...Document` constants of generated/operations.ts. Its text is
 * `toString()`.
 */
export interface TypedDocument<TResult, TVariables> {
  toString(): string;
  __apiType?: (variables: TVariables) => TResult;
}

/** One entry of a GraphQL response's `errors`. */
export interface GraphQLErrorEntry {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: {
    code?: string;
    reason?: string;
    field?: string;
    [key: string]: unknown;
  };
}

/** Codes the client gives failures that have no server code. */
export const ClientCode = {
  /** wx.request failed: no connection, timeout, DNS, TLS, domain not allowed. */
  NETWORK_ERROR: 'NETWORK_ERROR',
  /** An HTTP error status with no GraphQL error in the body. */
  HTTP_ERROR: 'HTTP_ERROR',
  /** A body that is not a GraphQL response. */
  BAD_RESPONSE: 'BAD_RESPONSE',
  /** wx.login() failed or gave no code. */
  WX_LOGIN_FAILED: 'WX_LOGIN_FAILED',
} as const;

export type ClientErrorCode = (typeof ClientCode)[keyof typeof ClientCode];

/**
 * The codes a client can act on: the server's (ErrorCode, generated from
 * the schema) and the client's own. A code a newer server adds comes
 * through as it is.
 */
export type KnownCode = ErrorCode | ClientErrorCode;

export interface GraphQLClientErrorInit {
  code: string;
  message: string;
  reason?: string;
  field?: string;
  statusCode?: number;
  requestId?: string;
  errors?: GraphQLErrorEntry[];
}

/**
 * A failed call. `code` is the server's `extensions.code` (UNAUTHENTICATED,
 * BAD_USER_INPUT, NOT_FOUND, ...) or one of ClientCode.
 */
export class GraphQLClientError extends Error {
  readonly code: KnownCode | (string & {});
  /** extensions.reason, e.g. EXPIRED_TOKEN or INVALID_CODE; or TIMEOUT for a network time-out. */
  readonly reason?: ErrorReason | 'TIMEOUT' | (string & {});
  /** extensions.field of a BAD_USER_INPUT, e.g. "title". */
  readonly field?: string;
  /** The HTTP status, when the server answered. */
  readonly statusCode?: number;
  /** The server's X-Request-Id: its log has the details under this id. */
  readonly requestId?: string;
  /** All GraphQL errors of the response (the first one gave code and message). */
  readonly errors: GraphQLErrorEntry[];

  constructor(init: GraphQLClientErrorInit) {
    super(init.message);
    // Keeps instanceof working where classes are compiled down to ES5.
    Object.setPrototypeOf(this, GraphQLClientError.prototype);
    this.name = 'GraphQLClientError';
    this.code = init.code;
    this.reason = init.reason;
    this.field = init.field;
    this.statusCode = init.statusCode;
    this.requestId = init.requestId;
    this.errors = init.errors || [];
  }
}

/** Whether err is a GraphQLClientError, with the given code if one is named. */
export function isClientError(err: unknown, code?: KnownCode): err is GraphQLClientError {
  return err instanceof GraphQLClientError && (code === undefined || err.code === code);
}

export interface ClientOptions {
  /** The GraphQL endpoint, e.g. https://api.example.com/query. */
  url: string;
  /** The storage key of the token. Default "wxtodo.token". */
  tokenKey?: string;
  /**
   * wx.request timeout in milliseconds. Default 20000: longer than the
   * server's own deadline (REQUEST_TIMEOUT, 15s), whose TIMEOUT answer
   * says more than a dropped request.
   */
  timeout?: number;
}

export interface RequestOptions {
  /**
   * Send the request once more after a NETWORK_ERROR, when repeating it
   * is harmless: queries, updates, and a createTodo with a clientMutationId.
   */
  retryNetworkError?: boolean;
}

export type LoginResult = LoginMutation['login'];

interface RawResponse {
  statusCode: number;
  body: unknown;
  requestId?: string;
}

const UNAUTHENTICATED: ErrorCode = 'UNAUTHENTICATED';

export class GraphQLClient {
  readonly url: string;
  readonly tokenKey: string;
  readonly timeout: number;
  private signingIn: Promise<LoginResult> | null = null;

  constructor(options: ClientOptions) {
    this.url = options.url;
    this.tokenKey = options.tokenKey || 'wxtodo.token';
    this.timeout = options.timeout || 20000;
  }

  /** The stored session token, or "" when there is none. */
  getToken(): string {
    const t: unknown = wx.getStorageSync(this.tokenKey);
    return typeof t === 'string' ? t : '';
  }

  /** Forgets the stored token (the session stays valid on the server). */
  clearToken(): void {
    wx.removeStorageSync(this.tokenKey);
  }

  /**
   * Signs in: wx.login() → `login` → token stored. Calls made while a
   * sign-in is under way share it. A network failure is retried once with
   * the same code, which the server accepts again within 5 minutes.
   */
  login(): Promise<LoginResult> {
    if (!this.signingIn) {
      this.signingIn = this.signIn().then(
        (r) => {
          this.signingIn = null;
          return r;
        },
        (err: unknown) => {
          this.signingIn = null;
          throw err;
        },
      );
    }
    return this.signingIn;
  }

  /**
   * Runs one operation and returns its `data`. See the file comment for
   * signing in, the retry after UNAUTHENTICATED and the errors.
   */
  async request<TResult, TVariables>(
    document: TypedDocument<TResult, TVariables>,
    variables?: TVariables,
    options: RequestOptions = {},
  ): Promise<TResult> {
    const query = document.toString();
    let token = this.getToken();
    // At most one sign-in per call: up front when no token is stored, or
    // after an UNAUTHENTICATED answer.
    let signedIn = false;
    if (!token) {
      token = (await this.login()).token;
      signedIn = true;
    }
    let networkRetried = false;
    for (;;) {
      let res: RawResponse;
      try {
        res = await this.post(query, variables, token);
      } catch (err) {
        if (options.retryNetworkError && !networkRetried && isClientError(err, ClientCode.NETWORK_ERROR)) {
          networkRetried = true;
          continue;
        }
        throw err;
      }
      const errors = responseErrors(res.body);
      if (errors.some((e) => e.extensions?.code === UNAUTHENTICATED) && !signedIn) {
        signedIn = true;
        token = await this.tokenAfterRejection(token);
        continue;
      }
      return resultData<TResult>(res, errors);
    }
  }

  /**
   * Revokes the session on the server, then forgets the token. Without a
   * stored token it only forgets; a token the server no longer knows is not
   * an error.
   */
  async logout(): Promise<void> {
    const token = this.getToken();
    try {
      if (token) {
        const res = await this.post(LogoutDocument.toString(), {}, token);
        const errors = responseErrors(res.body);
        if (!errors.some((e) => e.extensions?.code === UNAUTHENTICATED)) {
          resultData(res, errors);
        }
      }
    } finally {
      if (this.getToken() === token) {
        this.clearToken();
      }
    }
  }

  /**
   * The token to retry with after the server rejected `rejected`: the
   * stored one when another call has signed in since, else a new sign-in
   * (shared with the calls that are signing in already). The live client
   * (live.ts) uses it too, when a socket is refused or its session ends.
   */
  async tokenAfterRejection(rejected: string): Promise<string> {
    const current = this.getToken();
    if (current && current !== rejected && !this.signingIn) {
      return current;
    }
    if (current === rejected) {
      // Do not send a dead token again, also if the sign-in fails.
      this.clearToken();
    }
    return (await this.login()).token;
  }

  private async signIn(): Promise<LoginResult> {
    const code = await wxLoginCode();
    const query = LoginDocument.toString();
    const variables = { input: { code } };
    let res: RawResponse;
    try {
      res = await this.post(query, variables, '');
    } catch (err) {
      if (!isClientError(err, ClientCode.NETWORK_ERROR)) {
        throw err;
      }
      // The answer may have been lost after the server used the code; the
      // same code signs the same user in again.
      res = await this.post(query, variables, '');
    }
    const data = resultData<LoginMutation>(res, responseErrors(res.body));
    wx.setStorageSync(this.tokenKey, data.login.token);
    return data.login;
  }

  private post(query: string, variables: unknown, token: string): Promise<RawResponse> {
    const header: Record<string, string> = { 'content-type': 'application/json' };
    if (token) {
      header.Authorization = 'Bearer ' + token;
    }
    return new Promise<RawResponse>((resolve, reject) => {
      wx.request({
        url: this.url,
        method: 'POST',
        header,
        data: JSON.stringify({ query, variables: variables || {} }),
        dataType: 'json',
        timeout: this.timeout,
        success: (res) => {
          resolve({
            statusCode: res.statusCode,
            body: res.data,
            requestId: headerValue(res.header, 'x-request-id'),
          });
        },
        fail: (err) => {
          const errMsg = (err && err.errMsg) || 'request:fail';
          reject(
            new GraphQLClientError({
              code: ClientCode.NETWORK_ERROR,
              reason: /time ?out/i.test(errMsg) ? 'TIMEOUT' : undefined,
              message: errMsg,
            }),
          );
        },
      });
    });
  }
}

function wxLoginCode(): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    wx.login({
      success: (res) => {
        if (res.code) {
          resolve(res.code);
        } else {
          reject(new GraphQLClientError({ code: ClientCode.WX_LOGIN_FAILED, message: res.errMsg || 'wx.login gave no code' }));
        }
      },
      fail: (err) => {
        reject(new GraphQLClientError({ code: ClientCode.WX_LOGIN_FAILED, message: (err && err.errMsg) || 'wx.login failed' }));
      },
    });
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function responseErrors(body: unknown): GraphQLErrorEntry[] {
  if (!isObject(body) || !Array.isArray(body.errors)) {
    return [];
  }
  return body.errors.filter(isObject).map((e) => ({
    message: typeof e.message === 'string' ? e.message : 'unknown error',
    path: Array.isArray(e.path) ? (e.path as Array<string | number>) : undefined,
    extensions: isObject(e.extensions) ? (e.extensions as GraphQLErrorEntry['extensions']) : undefined,
  }));
}

/** The response's data, or the GraphQLClientError it stands for. */
function resultData<T>(res: RawResponse, errors: GraphQLErrorEntry[]): T {
  if (errors.length > 0) {
    const first = errors[0];
    const ext = first.extensions || {};
    throw new GraphQLClientError({
      code: typeof ext.code === 'string' ? ext.code : ClientCode.BAD_RESPONSE,
      reason: typeof ext.reason === 'string' ? ext.reason : undefined,
      field: typeof ext.field === 'string' ? ext.field : undefined,
      message: first.message,
      statusCode: res.statusCode,
      requestId: res.requestId,
      errors,
    });
  }
  const ok = res.statusCode >= 200 && res.statusCode < 300;
  if (ok && isObject(res.body) && isObject(res.body.data)) {
    return res.body.data as T;
  }
  throw new GraphQLClientError({
    code: ok ? ClientCode.BAD_RESPONSE : ClientCode.HTTP_ERROR,
    message: ok ? 'the server answered with no data' : 'HTTP ' + res.statusCode,
    statusCode: res.statusCode,
    requestId: res.requestId,
  });
}

function headerValue(header: Record<string, unknown> | undefined, name: string): string | undefined {
  if (!header) {
    return undefined;
  }
  for (const key of Object.keys(header)) {
    if (key.toLowerCase() === name) {
      const v = header[key];
      return typeof v === 'string' ? v : undefined;
    }
  }
  return undefined;
}
