// A small GraphQL client for the mini-program runtime: wx.request (or
// wx.cloud.callContainer), wx.login and wx.*StorageSync only (no fetch, no
// Node APIs, no GraphQL framework).
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
//
// How a request reaches the server is the client's Transport: wx.request to
// a URL (RequestTransport), or WeChat Cloud Hosting's
// wx.cloud.callContainer to a service (CloudContainerTransport). Through
// Cloud Hosting the platform itself names the caller (its X-WX-OPENID
// header), so there the client never signs in by itself: it sends no token
// unless login() was called explicitly, and an UNAUTHENTICATED answer to a
// call without a token is thrown as it is (a rejected token is dropped
// once, and the call sent again without it).

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
  /** wx.request (or wx.cloud.callContainer) failed: no connection, timeout, DNS, TLS, domain not allowed, no such Cloud Hosting env or service. */
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

/** One GraphQL POST, as the client hands it to its transport. */
export interface TransportRequest {
  /** The JSON text of `{ query, variables }`. */
  body: string;
  /** content-type, and Authorization when a token goes with the call. */
  header: Record<string, string>;
  /** Milliseconds. */
  timeout: number;
}

/** The server's answer to a TransportRequest. */
export interface TransportResponse {
  statusCode: number;
  /** The body, parsed as JSON (its text when it is not JSON). */
  body: unknown;
  /** The server's X-Request-Id. */
  requestId?: string;
}

/** What the live client asks of a socket: its subprotocols, and where a failure to open goes. */
export interface SocketRequest {
  protocols: string[];
  fail: (errMsg: string) => void;
}

/**
 * How the client reaches the server: the same typed client (and TodoApi,
 * LiveClient) runs on either.
 */
export interface Transport {
  /** Where the calls go, for people: the URL, or the Cloud Hosting env and service. */
  readonly target: string;
  /**
   * Whether the platform names the caller of every call (WeChat Cloud
   * Hosting): then the client does not sign in by itself.
   */
  readonly platformIdentity: boolean;
  /** Sends one POST; fails with a NETWORK_ERROR GraphQLClientError. */
  post(request: TransportRequest): Promise<TransportResponse>;
  /** Opens a WebSocket on the GraphQL endpoint (for live.ts). */
  connectSocket(request: SocketRequest): WechatMiniprogram.SocketTask;
}

/** The WebSocket URL of a GraphQL endpoint: ws:// for http://, wss:// for https://. */
export function socketUrl(httpUrl: string): string {
  return httpUrl.replace(/^http(s?):\/\//i, (_m: string, s: string) => (s ? 'wss://' : 'ws://'));
}

/** wx.request to the GraphQL endpoint, wx.connectSocket to its ws(s):// twin. */
export class RequestTransport implements Transport {
  readonly platformIdentity = false;

  constructor(readonly url: string) {}

  get target(): string {
    return this.url;
  }

  post(request: TransportRequest): Promise<TransportResponse> {
    return new Promise<TransportResponse>((resolve, reject) => {
      wx.request({
        url: this.url,
        method: 'POST',
        header: request.header,
        data: request.body,
        dataType: 'json',
        timeout: request.timeout,
        success: (res) => {
          resolve({
            statusCode: res.statusCode,
            body: res.data,
            requestId: headerValue(res.header, 'x-request-id'),
          });
        },
        fail: (err) => reject(networkError((err && err.errMsg) || 'request:fail')),
      });
    });
  }

  connectSocket(request: SocketRequest): WechatMiniprogram.SocketTask {
    return wx.connectSocket({
      url: socketUrl(this.url),
      protocols: request.protocols,
      fail: (err) => request.fail((err && err.errMsg) || 'connectSocket:fail'),
    });
  }
}

/** A WeChat Cloud Hosting (微信云托管) service that runs wxtodo with CLOUD_HOSTING=true. */
export interface CloudContainerConfig {
  /** The Cloud Hosting environment ID (环境 ID), e.g. prod-2gab3cd4e5f6. */
  env: string;
  /** The service's name (服务名称): sent as X-WX-SERVICE. */
  service: string;
  /** The GraphQL path on the service. Default /query. */
  path?: string;
}

/**
 * wx.cloud.callContainer to a Cloud Hosting service, and
 * wx.cloud.connectContainer for the live socket. The platform adds the
 * caller's X-WX-OPENID (and X-WX-APPID, X-WX-SOURCE, X-WX-UNIONID) to each
 * call, which the server takes as the signed-in user: no token, no login.
 * wx.cloud.init({ env }) is called once, before the first call.
 */
export class CloudContainerTransport implements Transport {
  readonly platformIdentity = true;
  readonly env: string;
  readonly service: string;
  readonly path: string;
  private initialized = false;

  constructor(config: CloudContainerConfig) {
    this.env = config.env;
    this.service = config.service;
    this.path = config.path || '/query';
  }

  get target(): string {
    return `cloud:${this.env}/${this.service}${this.path}`;
  }

  post(request: TransportRequest): Promise<TransportResponse> {
    this.init();
    return new Promise<TransportResponse>((resolve, reject) => {
      wx.cloud.callContainer({
        config: { env: this.env },
        path: this.path,
        method: 'POST',
        header: { ...request.header, 'X-WX-SERVICE': this.service },
        data: request.body,
        dataType: 'json',
        timeout: request.timeout,
        success: (res) => {
          resolve({
            statusCode: res.statusCode,
            body: typeof res.data === 'string' ? parseJSON(res.data) : res.data,
            requestId: headerValue(res.header, 'x-request-id'),
          });
        },
        fail: (err) => reject(networkError((err && err.errMsg) || 'cloud.callContainer:fail')),
      });
    });
  }

  connectSocket(request: SocketRequest): WechatMiniprogram.SocketTask {
    this.init();
    // connectContainer hands its SocketTask to success: until then this
    // one stands in for it, so the live client can set its listeners now.
    const task = new PendingSocketTask();
    wx.cloud.connectContainer({
      config: { env: this.env },
      service: this.service,
      path: this.path,
      protocols: request.protocols,
      success: (res) => task.attach(res.socketTask),
      fail: (err) => request.fail((err && err.errMsg) || 'cloud.connectContainer:fail'),
    });
    return task;
  }

  private init(): void {
    if (!this.initialized) {
      wx.cloud.init({ env: this.env });
      this.initialized = true;
    }
  }
}

/**
 * A SocketTask whose real task comes later (connectContainer's success):
 * listeners and a close wait for it; a send before it fails, as on a
 * socket that is not open.
 */
class PendingSocketTask implements WechatMiniprogram.SocketTask {
  private task: WechatMiniprogram.SocketTask | null = null;
  private pendingClose: WechatMiniprogram.SocketTaskCloseOption | null = null;
  private readonly waiting: Array<(task: WechatMiniprogram.SocketTask) => void> = [];

  attach(task: WechatMiniprogram.SocketTask): void {
    this.task = task;
    for (const add of this.waiting.splice(0)) {
      add(task);
    }
    if (this.pendingClose) {
      task.close(this.pendingClose);
    }
  }

  private later(add: (task: WechatMiniprogram.SocketTask) => void): void {
    if (this.task) {
      add(this.task);
    } else {
      this.waiting.push(add);
    }
  }

  onOpen(listener: WechatMiniprogram.OnOpenCallback): void {
    this.later((t) => t.onOpen(listener));
  }

  onMessage(listener: WechatMiniprogram.SocketTaskOnMessageCallback): void {
    this.later((t) => t.onMessage(listener));
  }

  onClose(listener: WechatMiniprogram.SocketTaskOnCloseCallback): void {
    this.later((t) => t.onClose(listener));
  }

  onError(listener: WechatMiniprogram.UDPSocketOnErrorCallback): void {
    this.later((t) => t.onError(listener));
  }

  send(option: WechatMiniprogram.SocketTaskSendOption): void {
    if (this.task) {
      this.task.send(option);
      return;
    }
    const res = { errMsg: 'sendSocketMessage:fail the socket is not open' };
    option.fail && option.fail(res);
    option.complete && option.complete(res);
  }

  close(option: WechatMiniprogram.SocketTaskCloseOption): void {
    if (this.task) {
      this.task.close(option);
    } else if (!this.pendingClose) {
      this.pendingClose = option;
    }
  }
}

export interface ClientOptions {
  /** The GraphQL endpoint, e.g. https://api.example.com/query, for wx.request. */
  url?: string;
  /**
   * WeChat Cloud Hosting instead of a URL: calls go through
   * wx.cloud.callContainer to this env and service.
   */
  cloud?: CloudContainerConfig | null;
  /** Another way to reach the server (wins over url and cloud). */
  transport?: Transport;
  /** The storage key of the token. Default "wxtodo.token". */
  tokenKey?: string;
  /**
   * The AppID the login names, for a server that serves several
   * mini-programs (WECHAT_APPS): this one's, from
   * wx.getAccountInfoSync().miniProgram.appId (config.ts's loginAppId).
   * Unset: the login names none, as a server of one app takes it.
   */
  appId?: string;
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

type RawResponse = TransportResponse;

const UNAUTHENTICATED: ErrorCode = 'UNAUTHENTICATED';

export class GraphQLClient {
  /** The wx.request endpoint ("" when the calls go through Cloud Hosting). */
  readonly url: string;
  readonly tokenKey: string;
  readonly timeout: number;
  readonly appId: string;
  readonly transport: Transport;
  private signingIn: Promise<LoginResult> | null = null;

  constructor(options: ClientOptions) {
    this.tokenKey = options.tokenKey || 'wxtodo.token';
    this.appId = options.appId || '';
    this.timeout = options.timeout || 20000;
    if (options.transport) {
      this.transport = options.transport;
    } else if (options.cloud) {
      this.transport = new CloudContainerTransport(options.cloud);
    } else if (options.url) {
      this.transport = new RequestTransport(options.url);
    } else {
      throw new Error('GraphQLClient: set url, cloud or transport');
    }
    this.url = this.transport instanceof RequestTransport ? this.transport.url : '';
  }

  /** Where the calls go, for people (the login page shows it). */
  get target(): string {
    return this.transport.target;
  }

  /**
   * Whether the platform signs the caller in (Cloud Hosting): the client
   * then needs no login and sends no token of its own.
   */
  get platformIdentity(): boolean {
    return this.transport.platformIdentity;
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
    const platform = this.platformIdentity;
    let token = this.getToken();
    // At most one sign-in per call: up front when no token is stored, or
    // after an UNAUTHENTICATED answer. Through Cloud Hosting, none: the
    // platform's headers sign the call in.
    let signedIn = false;
    if (!token && !platform) {
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
      // Through Cloud Hosting only a token can be rejected: without one
      // there is nothing to refresh, and the error is the answer.
      if (errors.some((e) => e.extensions?.code === UNAUTHENTICATED) && !signedIn && (token || !platform)) {
        signedIn = true;
        token = await this.tokenAfterRejection(token);
        continue;
      }
      return resultData<TResult>(res, errors);
    }
  }

  /**
   * Revokes the session on the server, then forgets the token. Without a
   * stored token it only forgets (through Cloud Hosting that is all there
   * is: a caller the platform names has no session, and the server would
   * answer logout with false); a token the server no longer knows is not
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
   * Through Cloud Hosting it signs nobody in: "" (the platform's headers),
   * or a token another call stored since.
   */
  async tokenAfterRejection(rejected: string): Promise<string> {
    const current = this.getToken();
    if (current && current !== rejected && !this.signingIn) {
      return current;
    }
    if (current && current === rejected) {
      // Do not send a dead token again, also if the sign-in fails.
      this.clearToken();
    }
    if (this.platformIdentity) {
      return current === rejected ? '' : current;
    }
    return (await this.login()).token;
  }

  private async signIn(): Promise<LoginResult> {
    const code = await wxLoginCode();
    const query = LoginDocument.toString();
    const variables = { input: this.appId ? { code, appId: this.appId } : { code } };
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
    return this.transport.post({ body: JSON.stringify({ query, variables: variables || {} }), header, timeout: this.timeout });
  }
}

/** A failed wx.request or callContainer, as the client throws it. */
function networkError(errMsg: string): GraphQLClientError {
  return new GraphQLClientError({
    code: ClientCode.NETWORK_ERROR,
    reason: /time ?out/i.test(errMsg) ? 'TIMEOUT' : undefined,
    message: errMsg,
  });
}

function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return text;
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
