export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** A JSON value, sent as itself (an object here), not as a string. */
  JSON: { input: unknown; output: unknown; }
  /** An instant in RFC 3339 format, e.g. `2026-11-21T08:30:00.123456Z`. */
  Time: { input: string; output: string; }
};

/** A page of the audit trail, newest first. */
export type AdminAuditConnection = {
  __typename?: 'AdminAuditConnection';
  /** The page's entries. */
  edges: Array<AdminAuditEdge>;
  /** Whether more follow, and the cursor to ask for them. */
  pageInfo: PageInfo;
};

/** An audit entry and its cursor. */
export type AdminAuditEdge = {
  __typename?: 'AdminAuditEdge';
  /** Pass as `after` for the entries after this one. */
  cursor: Scalars['String']['output'];
  /** The entry. */
  node: AdminAuditEntry;
};

/** One recorded operator action. */
export type AdminAuditEntry = {
  __typename?: 'AdminAuditEntry';
  /** What: `revoke_sessions`, `disable_user`, `enable_user`, `issue_token` or `revoke_token`. */
  action: Scalars['String']['output'];
  /** When it happened. */
  at: Scalars['Time']['output'];
  /** The operator's client address; empty from the command line. */
  clientIp: Scalars['String']['output'];
  /** The entry's ID. */
  id: Scalars['ID']['output'];
  /** Who acted: the operator token's name, or `cli` for the command line on the server. */
  operator: Scalars['String']['output'];
  /** The reason the operator gave (disable_user); empty otherwise. */
  reason: Scalars['String']['output'];
  /** On what: `user:<id>`, or an operator token's name. */
  target: Scalars['String']['output'];
};

/** A signed-in device of a user. */
export type AdminSession = {
  __typename?: 'AdminSession';
  /** When the device signed in. */
  createdAt: Scalars['Time']['output'];
  /** When the session expires unless it is used. */
  expiresAt: Scalars['Time']['output'];
  /** The session's ID. */
  id: Scalars['ID']['output'];
  /** When the session was last used, to within an hour (it is recorded as the expiry slides). */
  lastUsedAt?: Maybe<Scalars['Time']['output']>;
};

/** An operator's view of a user. No token, session_key or unmasked phone number is ever in it. */
export type AdminUser = {
  __typename?: 'AdminUser';
  /** When the user first signed in. */
  createdAt: Scalars['Time']['output'];
  /** Whether an operator disabled the account: its logins are refused (FORBIDDEN, USER_DISABLED). */
  disabled: Scalars['Boolean']['output'];
  /** Why it was disabled, as the operator wrote it; null unless disabled. */
  disabledReason?: Maybe<Scalars['String']['output']>;
  /** The user's ID (`User.id`). */
  id: Scalars['ID']['output'];
  /** The display name the user chose; empty until set. */
  nickname: Scalars['String']['output'];
  /** The bound phone number, masked (`138****1234`); null until bound. */
  phoneNumber?: Maybe<Scalars['String']['output']>;
  /** The user's sessions that have not expired (signed-in devices), newest first. */
  sessions: Array<AdminSession>;
  /** How many todos the user has. */
  todoCount: Scalars['Int']['output'];
};

/** A page of users, newest first. */
export type AdminUserConnection = {
  __typename?: 'AdminUserConnection';
  /** The page's users. */
  edges: Array<AdminUserEdge>;
  /** Whether more follow, and the cursor to ask for them. */
  pageInfo: PageInfo;
};

/** A user and the cursor after which the next page starts. */
export type AdminUserEdge = {
  __typename?: 'AdminUserEdge';
  /** Pass as `after` for the users after this one. */
  cursor: Scalars['String']['output'];
  /** The user. */
  node: AdminUser;
};

/** A new session. */
export type AuthPayload = {
  __typename?: 'AuthPayload';
  /** When the token expires unless it is used; use extends it. */
  expiresAt: Scalars['Time']['output'];
  /** True on the user's first login only. */
  isNewUser: Scalars['Boolean']['output'];
  /** The session token: send it as `Authorization: Bearer <token>`. */
  token: Scalars['String']['output'];
  /** The signed-in user. */
  user: User;
};

/** The code from `<button open-type="getPhoneNumber">`. */
export type BindPhoneNumberInput = {
  /** The `code` in the button's `getphonenumber` event (valid for 5 minutes, once). */
  code: Scalars['String']['input'];
};

/** A new todo. */
export type CreateTodoInput = {
  /**
   * An idempotency key chosen by the client (1..64 bytes, unique per user):
   * sending the same createTodo again returns the todo created first instead
   * of a duplicate, so a retry after a lost answer is safe.
   */
  clientMutationId?: InputMaybe<Scalars['String']['input']>;
  /** What to do: trimmed, 1 to 200 characters. */
  title: Scalars['String']['input'];
};

/** Encrypted data from a WeChat API, as the mini-program received it. */
export type DecryptDataInput = {
  /** The `encryptedData` string (base64). */
  encryptedData: Scalars['String']['input'];
  /** The `iv` string (base64 of 16 bytes). */
  iv: Scalars['String']['input'];
};

/**
 * The values of `extensions.code` on errors, with what a client does about
 * each. No field returns this type: it documents the contract and gives
 * code generators a type to check codes against. A code is never renamed.
 */
export type ErrorCode =
  /** The operation has too many aliased fields. Ask for less per request. */
  | 'ALIAS_LIMIT_EXCEEDED'
  /** The HTTP body (or a GET request's parameters) is not one JSON object of valid UTF-8 without duplicate keys, or a GraphQL member has the wrong type (HTTP 400). Fix the client. */
  | 'BAD_REQUEST'
  /** An argument is invalid; `extensions.field` names it. Fix the input; retrying the same request fails again. */
  | 'BAD_USER_INPUT'
  /** The operation costs more than the server allows (a page size times its fields). Ask for less per request. */
  | 'COMPLEXITY_LIMIT_EXCEEDED'
  /** The selection nests too deeply. Ask for less per request. */
  | 'DEPTH_LIMIT_EXCEEDED'
  /** The document has more selections, fragments, fields of one name, directives, variables or arguments than the server validates (the message names which). Send a smaller document. */
  | 'DOCUMENT_LIMIT_EXCEEDED'
  /**
   * This server does not do that for this caller: a WeChat Cloud Hosting call from a mini-program
   * it does not serve (`X-WX-APPID`), `login` on a server without the AppSecret, a disabled account
   * (`extensions.reason` USER_DISABLED), an `@auth(role: ADMIN)` field for a signed-in user, or a
   * user's field for an operator token. Do not retry.
   */
  | 'FORBIDDEN'
  /** The document does not parse. Fix the client. */
  | 'GRAPHQL_PARSE_FAILED'
  /** The document does not fit the schema, or a variable has the wrong type. Fix the client. */
  | 'GRAPHQL_VALIDATION_FAILED'
  /** A bug on the server; the message has no details (the log has them, under the request ID). Retry, then report it. */
  | 'INTERNAL_SERVER_ERROR'
  /** The document asks for `__schema` or `__type` and introspection is off on this server. Use the schema file the server's team publishes. */
  | 'INTROSPECTION_DISABLED'
  /** A per-user cap is reached (todos per user); `extensions.limit` is the cap. Retrying does not help: delete some first. */
  | 'LIMIT_EXCEEDED'
  /** The HTTP method is not POST, or GET for a query (HTTP 405). Fix the client. */
  | 'METHOD_NOT_ALLOWED'
  /** The todo to update or delete is not the caller's (or no longer exists): refresh the list. Also the answer to an HTTP path the server does not have (HTTP 404). */
  | 'NOT_FOUND'
  /** An automatic persisted query's hash is unknown to this server. Send the query text with the hash once. */
  | 'PERSISTED_QUERY_NOT_FOUND'
  /** Too many requests of one kind: logins from one client address, WeChat calls by one user, or todos created by one user. Retry after `extensions.retryAfter` seconds. */
  | 'RATE_LIMITED'
  /** The HTTP body is over 1 MiB (HTTP 413). Send less. */
  | 'REQUEST_TOO_LARGE'
  /** The operation has too many root fields. Split it. */
  | 'ROOT_FIELD_LIMIT_EXCEEDED'
  /** The database is unreachable. Retry later. */
  | 'SERVICE_UNAVAILABLE'
  /** The data was encrypted with a session_key that has moved on. Call `wx.login()` and `login`, then get the data from WeChat again. */
  | 'SESSION_KEY_STALE'
  /** The request ran past the server's deadline. Retry. */
  | 'TIMEOUT'
  /** An `@auth` field without a valid token (`extensions.reason` says why). Call `wx.login()` and `login` again, then retry. */
  | 'UNAUTHENTICATED'
  /** The HTTP request is not `Content-Type: application/json` (HTTP 415). Fix the client. */
  | 'UNSUPPORTED_MEDIA_TYPE'
  /** WeChat refused the request; `extensions.errcode` is WeChat's code and `extensions.reason` says what to do. */
  | 'WECHAT_ERROR'
  /** WeChat timed out, failed or answered garbage. Retry later. */
  | 'WECHAT_UNAVAILABLE';

/** The values of `extensions.reason`, which refine some codes. */
export type ErrorReason =
  /** WECHAT_ERROR: WeChat blocked this user (40226). Tell the user. */
  | 'BLOCKED_USER'
  /** UNAUTHENTICATED: the session expired after `SESSION_TTL` without use. */
  | 'EXPIRED_TOKEN'
  /** WECHAT_ERROR: the `wx.login()` code is invalid or already used (40029, 40163). Get a new code. */
  | 'INVALID_CODE'
  /** UNAUTHENTICATED: the token is malformed, unknown or revoked (logged out). */
  | 'INVALID_TOKEN'
  /** UNAUTHENTICATED: no `Authorization: Bearer` header was sent. */
  | 'MISSING_TOKEN'
  /** WECHAT_ERROR: WeChat rate-limited this mini-program (45011). Back off. */
  | 'RATE_LIMITED'
  /** WECHAT_ERROR: WeChat rejected the server's own credentials or request. Report it; the server logs the details. */
  | 'REJECTED'
  /** FORBIDDEN: an operator disabled this account: `login` is refused (no session is made) until they enable it. Tell the user to contact support. */
  | 'USER_DISABLED';

/** The code from `wx.login()`, and the mini-program it came from. */
export type LoginInput = {
  /**
   * The AppID of the mini-program signing in (`wx.getAccountInfoSync().miniProgram.appId`).
   * Required when the server serves several mini-programs, and then one of them
   * (`BAD_USER_INPUT` on field `appId` otherwise); it may be left out when it serves one.
   * The code is exchanged with that app's credentials, and the session is that app's:
   * WeChat data (`decryptData`, `bindPhoneNumber`, ...) goes through it.
   */
  appId?: InputMaybe<Scalars['String']['input']>;
  /** The one-time code `wx.login()` returned (valid for 5 minutes). */
  code: Scalars['String']['input'];
};

/** Writes. */
export type Mutation = {
  __typename?: 'Mutation';
  /**
   * Disables the account: its sessions end at once, on every instance, and its logins answer
   * FORBIDDEN with reason USER_DISABLED until `adminEnableUser`. The reason (1 to 500
   * characters) is recorded.
   */
  adminDisableUser: AdminUser;
  /** Lets a disabled user sign in again. */
  adminEnableUser: AdminUser;
  /** Signs the user out on every device at once (their live sockets close too) and returns how many sessions ended. */
  adminRevokeSessions: Scalars['Int']['output'];
  /**
   * Binds the caller's phone number: trades the code from
   * `<button open-type="getPhoneNumber">` at WeChat and stores the number on
   * the user (`User.phoneNumber`, which only the user sees). WeChat's refusals
   * are WECHAT_ERROR with `errcode` and `reason` (INVALID_CODE: ask the user
   * again), WECHAT_UNAVAILABLE when WeChat cannot be reached.
   */
  bindPhoneNumber: User;
  /**
   * Asks WeChat whether the caller's session_key on this server is still
   * valid: when false, the WeChat data features answer SESSION_KEY_STALE
   * until the client calls `wx.login()` and `login` again. The same as
   * `Query.checkSession`.
   */
  checkSession: Scalars['Boolean']['output'];
  /** Adds a todo to the caller's list. */
  createTodo: Todo;
  /**
   * Decrypts `encryptedData` that a WeChat API handed the mini-program
   * (`wx.getWeRunData`, `wx.getShareInfo`, ...) with the caller's current
   * session_key, checks that `watermark.appid` is this mini-program's AppID,
   * and returns the decrypted object. BAD_USER_INPUT (with `field`) when the
   * input is not valid base64, has the wrong length or padding, or belongs to
   * another mini-program; SESSION_KEY_STALE when it was encrypted with a
   * session_key that has since moved on: call `wx.login()` and `login`, then
   * ask WeChat for the data again. The same as `Query.decryptData`.
   */
  decryptData?: Maybe<Scalars['JSON']['output']>;
  /** Deletes one of the caller's todos and returns its ID; NOT_FOUND when it is not theirs. */
  deleteTodo: Scalars['ID']['output'];
  /**
   * Signs in with the one-time code from `wx.login()` and returns a session
   * token to send as `Authorization: Bearer <token>`. A retry with the same
   * code within 5 minutes signs in the same user again.
   */
  login: AuthPayload;
  /**
   * Revokes the token used for this request and returns true. A caller whom WeChat Cloud
   * Hosting's headers identify (no token) has no session to end: false.
   */
  logout: Scalars['Boolean']['output'];
  /** Changes the caller's profile; fields left out stay as they are. */
  updateProfile: User;
  /** Changes one of the caller's todos; NOT_FOUND when it is not theirs. */
  updateTodo: Todo;
  /**
   * Checks user data signed by WeChat (`rawData` and `signature` from
   * `wx.getUserInfo` and similar): true when `signature` is
   * sha1(rawData + session_key) for the caller's current session_key. The
   * same as `Query.verifyUserData`.
   */
  verifyUserData: Scalars['Boolean']['output'];
};


/** Writes. */
export type MutationAdminDisableUserArgs = {
  reason: Scalars['String']['input'];
  userId: Scalars['ID']['input'];
};


/** Writes. */
export type MutationAdminEnableUserArgs = {
  userId: Scalars['ID']['input'];
};


/** Writes. */
export type MutationAdminRevokeSessionsArgs = {
  userId: Scalars['ID']['input'];
};


/** Writes. */
export type MutationBindPhoneNumberArgs = {
  input: BindPhoneNumberInput;
};


/** Writes. */
export type MutationCreateTodoArgs = {
  input: CreateTodoInput;
};


/** Writes. */
export type MutationDecryptDataArgs = {
  input: DecryptDataInput;
};


/** Writes. */
export type MutationDeleteTodoArgs = {
  id: Scalars['ID']['input'];
};


/** Writes. */
export type MutationLoginArgs = {
  input: LoginInput;
};


/** Writes. */
export type MutationUpdateProfileArgs = {
  input: UpdateProfileInput;
};


/** Writes. */
export type MutationUpdateTodoArgs = {
  id: Scalars['ID']['input'];
  input: UpdateTodoInput;
};


/** Writes. */
export type MutationVerifyUserDataArgs = {
  input: VerifyUserDataInput;
};

/** Where a page ends. */
export type PageInfo = {
  __typename?: 'PageInfo';
  /** The cursor of the page's last item; null for an empty page. */
  endCursor?: Maybe<Scalars['String']['output']>;
  /** Whether more follow (todos, or the entries of an admin list). */
  hasNextPage: Scalars['Boolean']['output'];
};

/** Reads. */
export type Query = {
  __typename?: 'Query';
  /** The audit trail, newest first. `first` is 1 to 100. */
  adminAudit: AdminAuditConnection;
  /** The user with the ID; null when there is none. */
  adminUser?: Maybe<AdminUser>;
  /**
   * Users, newest first; `search` matches the user ID, the nickname, an openid or a unionid,
   * exactly or by prefix (at most 128 bytes). `first` is 1 to 100.
   */
  adminUsers: AdminUserConnection;
  /**
   * Asks WeChat whether the caller's session_key on this server is still
   * valid: when false, the WeChat data features answer SESSION_KEY_STALE
   * until the client calls `wx.login()` and `login` again. Also on Mutation.
   */
  checkSession: Scalars['Boolean']['output'];
  /**
   * Decrypts `encryptedData` that a WeChat API handed the mini-program
   * (`wx.getWeRunData`, `wx.getShareInfo`, ...) with the caller's current
   * session_key, checks that `watermark.appid` is this mini-program's AppID,
   * and returns the decrypted object. BAD_USER_INPUT (with `field`) when the
   * input is not valid base64, has the wrong length or padding, or belongs to
   * another mini-program; SESSION_KEY_STALE when it was encrypted with a
   * session_key that has since moved on: call `wx.login()` and `login`, then
   * ask WeChat for the data again. Also on Mutation, for clients that send it
   * there.
   */
  decryptData?: Maybe<Scalars['JSON']['output']>;
  /** The signed-in user. */
  me: User;
  /** One of the caller's todos; null when it does not exist or is someone else's. */
  todo?: Maybe<Todo>;
  /**
   * The caller's todos, newest first, `first` (1..100) at a time after the
   * opaque cursor `after`.
   */
  todos: TodoConnection;
  /**
   * Checks user data signed by WeChat (`rawData` and `signature` from
   * `wx.getUserInfo` and similar): true when `signature` is
   * sha1(rawData + session_key) for the caller's current session_key. Also
   * on Mutation.
   */
  verifyUserData: Scalars['Boolean']['output'];
};


/** Reads. */
export type QueryAdminAuditArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


/** Reads. */
export type QueryAdminUserArgs = {
  id: Scalars['ID']['input'];
};


/** Reads. */
export type QueryAdminUsersArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  search?: InputMaybe<Scalars['String']['input']>;
};


/** Reads. */
export type QueryDecryptDataArgs = {
  input: DecryptDataInput;
};


/** Reads. */
export type QueryTodoArgs = {
  id: Scalars['ID']['input'];
};


/** Reads. */
export type QueryTodosArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  filter?: InputMaybe<TodoFilter>;
  first?: InputMaybe<Scalars['Int']['input']>;
};


/** Reads. */
export type QueryVerifyUserDataArgs = {
  input: VerifyUserDataInput;
};

/** Who calls. */
export type Role =
  /** An operator, with a token from `wxtodo admin token`: the `admin*` fields only. */
  | 'ADMIN'
  /** A person signed in through WeChat (`login`, or WeChat Cloud Hosting's headers). */
  | 'USER';

/**
 * Live updates, over WebSocket on /query (the graphql-transport-ws subprotocol, or the
 * legacy graphql-ws) or over Server-Sent Events (POST /query with `Accept: text/event-stream`).
 */
export type Subscription = {
  __typename?: 'Subscription';
  /**
   * The caller's own todo changes, from any of their devices and any instance, as they are
   * committed. On `RESYNC`, changes may have been missed: refetch the list.
   */
  todoChanged: TodoChange;
};

/** An item of a user's todo list. */
export type Todo = {
  __typename?: 'Todo';
  /** When it was created. */
  createdAt: Scalars['Time']['output'];
  /** Whether it is done. */
  done: Scalars['Boolean']['output'];
  /** The todo's ID. */
  id: Scalars['ID']['output'];
  /** What to do: 1 to 200 characters. */
  title: Scalars['String']['output'];
  /** When it last changed. */
  updatedAt: Scalars['Time']['output'];
};

/** A change of the caller's todo list. */
export type TodoChange = {
  __typename?: 'TodoChange';
  /** The todo's ID; null for RESYNC. */
  id?: Maybe<Scalars['ID']['output']>;
  /** What happened. */
  kind: TodoChangeKind;
  /** The todo after the change; null for DELETED and RESYNC. */
  todo?: Maybe<Todo>;
  /** The list's totalCount (no filter) after this change. */
  totalCount: Scalars['Int']['output'];
  /** The caller's list version after this change (see TodoConnection.version). */
  version: Scalars['Int']['output'];
};

/** What happened to a todo. */
export type TodoChangeKind =
  /** A todo was created. */
  | 'CREATED'
  /** A todo was deleted. */
  | 'DELETED'
  /**
   * Changes may have been lost (this subscriber fell behind, or the server lost its database
   * listener for a while): refetch the list.
   */
  | 'RESYNC'
  /** A todo was changed. */
  | 'UPDATED';

/** A page of todos. */
export type TodoConnection = {
  __typename?: 'TodoConnection';
  /** The todos of this page, newest first. */
  edges: Array<TodoEdge>;
  /** Where the page ends. */
  pageInfo: PageInfo;
  /** How many todos match the filter in all (computed only when asked for). */
  totalCount: Scalars['Int']['output'];
  /**
   * The caller's list version: every create, update and delete of the caller's todos increases
   * it (whatever the filter), so a client that kept it can tell whether it missed a change.
   */
  version: Scalars['Int']['output'];
};

/** A todo in a page. */
export type TodoEdge = {
  __typename?: 'TodoEdge';
  /** Pass as `after` to get the todos after this one. */
  cursor: Scalars['String']['output'];
  /** The todo. */
  node: Todo;
};

/** Narrows the todo list. */
export type TodoFilter = {
  /** Only done (true) or only open (false) todos. */
  done?: InputMaybe<Scalars['Boolean']['input']>;
};

/** Profile changes; a field left out or null stays as it is. */
export type UpdateProfileInput = {
  /** An https URL of at most 1024 bytes, or empty to clear it. */
  avatarUrl?: InputMaybe<Scalars['String']['input']>;
  /** Display name, trimmed, at most 64 characters. */
  nickname?: InputMaybe<Scalars['String']['input']>;
};

/** Changes to a todo; a field left out or null stays as it is. */
export type UpdateTodoInput = {
  /** Mark done or not done. */
  done?: InputMaybe<Scalars['Boolean']['input']>;
  /** New title: trimmed, 1 to 200 characters. */
  title?: InputMaybe<Scalars['String']['input']>;
};

/**
 * A person signed in through WeChat. With several mini-programs on one server, a
 * person who signs in from each (WeChat's unionid joins them) is one User: one ID,
 * one todo list, one profile and phone number.
 */
export type User = {
  __typename?: 'User';
  /** An https URL of the user's avatar; empty until set. */
  avatarUrl: Scalars['String']['output'];
  /** When the user first signed in. */
  createdAt: Scalars['Time']['output'];
  /** The user's ID on this server (not a WeChat openid): the same from every mini-program. */
  id: Scalars['ID']['output'];
  /** The display name the user chose; empty until set. */
  nickname: Scalars['String']['output'];
  /**
   * The phone number bound with `bindPhoneNumber` (with the country code for
   * numbers outside mainland China); null until bound. Only the user sees it:
   * every User the API returns is the caller.
   */
  phoneNumber?: Maybe<Scalars['String']['output']>;
};

/** Signed user data from a WeChat API, as the mini-program received it. */
export type VerifyUserDataInput = {
  /** The `rawData` string, exactly as received. */
  rawData: Scalars['String']['input'];
  /** The `signature` (40 hex digits). */
  signature: Scalars['String']['input'];
};
