// Live sync: a small graphql-transport-ws client on wx.connectSocket for the
// `todoChanged` subscription (graph/live.graphqls), so that a change made on
// another device shows up without a pull. The mini-program runtime's
// SocketTask only: no npm package, no GraphQL framework.
//
// - One socket per LiveClient, on the GraphQL endpoint itself with ws(s)://
//   for http(s):// (socketUrl), subprotocol graphql-transport-ws (passed as
//   an array, as wx.connectSocket takes it). The token travels in
//   connection_init's payload as Authorization: Bearer <token>.
// - The server pings every 25 s (WS_KEEPALIVE) and cuts off a client that
//   misses two pongs: every ping is answered. A socket that hears nothing
//   for idleTimeout (60 s) is taken for dead and replaced.
// - Close codes (live.Close* on the server): 4403 (no valid token at
//   connection_init) and 4401 (the session ended while the socket was
//   open): sign in again silently with the API client's own re-login,
//   shared with the HTTP calls, and reconnect at once; a second refusal in
//   a row waits like any failure. 4429 (too many sockets or subscriptions):
//   no new socket for 30 to 60 s (tooManyDelay with jitter), whatever asks
//   for one: never a tight loop. Anything else, 1012 (server restarting)
//   included: reconnect after minDelay (1 s) doubling up to maxDelay (30 s),
//   with jitter. The backoff starts over once a connection is acknowledged
//   and its version check has answered.
// - Resync by version: the client keeps the last list version it knows (from
//   the events, and from the lists a page loads: noteVersion). After every
//   connection_ack it subscribes, then reads the version over HTTP; when it
//   differs from the last known one, changes were made while no socket was
//   listening, and the listeners get a RESYNC: refetch (the same as the
//   server's own RESYNC, for a subscriber that fell behind). Events at or
//   below the last known version are dropped: they are in the list already
//   (duplicates after a resync).
// - subscribe() connects; the last unsubscribe closes the socket, keeping
//   the version, so that the next subscribe resyncs. resume() (on onShow,
//   and when wx.onNetworkStatusChange says the network is back, which the
//   client listens to while it has listeners) reconnects at once instead of
//   waiting out the backoff; pause() closes the socket until resume().
// - WeChat Cloud Hosting (the client's CloudContainerTransport): the socket
//   is opened with wx.cloud.connectContainer on the service's /query, and
//   the platform's headers on its handshake name the caller, so
//   connection_init carries no token (unless login() stored one) and the
//   client never signs in: a 4401/4403 there drops a stored token (if any)
//   and reconnects once at once, then waits like any failure.

import { TodoChangedDocument, TodoVersionDocument } from './generated/operations';
import type { TodoChangedSubscription } from './generated/operations';
import { socketUrl } from './graphql';
import type { GraphQLClient } from './graphql';

export { socketUrl };

/** One change of the caller's list, as todoChanged delivers it. */
export type TodoChange = TodoChangedSubscription['todoChanged'];

export type ChangeListener = (change: TodoChange) => void;

/** The WebSocket subprotocol: the graphql-ws npm library's protocol. */
export const SUBPROTOCOL = 'graphql-transport-ws';

/** Close codes a wxtodo socket closes with, and the client's own. */
export const CloseCode = {
  /** The session ended while the socket was open (logged out elsewhere, expired). */
  SESSION_ENDED: 4401,
  /** No valid token at connection_init. */
  FORBIDDEN: 4403,
  /** Too many sockets (or subscriptions) for this user. */
  TOO_MANY: 4429,
  /** The server is shutting down: reconnect. */
  SERVICE_RESTART: 1012,
  /** Sent by this client when it gives a socket up (silent, or its subscription ended). */
  GIVE_UP: 4000,
} as const;

export interface LiveOptions {
  /** The API client: its token, its silent re-login, its HTTP endpoint. */
  client: GraphQLClient;
  /**
   * The socket's URL, for wx.connectSocket. Default: the client's
   * transport opens it (the client's URL with ws(s)://, or
   * wx.cloud.connectContainer through Cloud Hosting).
   */
  url?: string;
  /** The first reconnect delay in milliseconds, doubling per failure. Default 1000. */
  minDelay?: number;
  /** The longest reconnect delay. Default 30000. */
  maxDelay?: number;
  /** The wait after a 4429 (too many sockets), before jitter (half to all of it). Default 60000. */
  tooManyDelay?: number;
  /**
   * How long a socket may hear nothing (not even a ping) before it is
   * replaced. Default 60000: above two of the server's 25 s pings.
   */
  idleTimeout?: number;
  /** Jitter source, 0 <= r < 1. Default Math.random. */
  random?: () => number;
}

/**
 * idle: no socket and none coming; connecting: signing in, opening, or
 * waiting for connection_ack; open: acknowledged and subscribed; waiting: a
 * reconnect is scheduled.
 */
export type LiveState = 'idle' | 'connecting' | 'open' | 'waiting';

export interface LiveClose {
  code: number;
  reason: string;
}

type Timer = ReturnType<typeof setTimeout>;
type SocketTask = WechatMiniprogram.SocketTask;

const SUBSCRIPTION_ID = '1';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class LiveClient {
  readonly url: string;
  /** How the last socket closed (code and reason), or null. */
  lastClose: LiveClose | null = null;
  /** The delay of the reconnect scheduled last, in milliseconds. */
  lastDelay = 0;

  private readonly client: GraphQLClient;
  private readonly ownUrl: boolean;
  private readonly minDelay: number;
  private readonly maxDelay: number;
  private readonly tooManyDelay: number;
  private readonly idleTimeout: number;
  private readonly random: () => number;
  private readonly listeners = new Set<ChangeListener>();
  private task: SocketTask | null = null;
  private current: LiveState = 'idle';
  private paused = false;
  /** Failed connections since the last good one: the backoff's exponent. */
  private attempt = 0;
  /** No connection before this time (ms since the epoch): after a 4429. */
  private holdUntil = 0;
  /** A re-login after 4401/4403 was tried since the last wait. */
  private reloggedIn = false;
  /** Bumped by every connect and disconnect: late callbacks of an older one do nothing. */
  private generation = 0;
  private retryTimer: Timer | null = null;
  private idleTimer: Timer | null = null;
  /** The last list version the listeners have (null: none yet). */
  private known: number | null = null;
  /** The version this socket's events start after (its version check), while it is open. */
  private covered: { version: number; totalCount: number } | null = null;

  constructor(options: LiveOptions) {
    this.client = options.client;
    this.ownUrl = !!options.url;
    this.url = options.url || (options.client.url ? socketUrl(options.client.url) : '');
    this.minDelay = options.minDelay ?? 1000;
    this.maxDelay = options.maxDelay ?? 30000;
    this.tooManyDelay = options.tooManyDelay ?? 60000;
    this.idleTimeout = options.idleTimeout ?? 60000;
    this.random = options.random || Math.random;
  }

  get state(): LiveState {
    return this.current;
  }

  /** The last list version the listeners have, or null. */
  get version(): number | null {
    return this.known;
  }

  /**
   * Whether the socket is open and its version check has answered: from
   * here on every change comes as an event.
   */
  get synced(): boolean {
    return this.current === 'open' && this.covered !== null;
  }

  /**
   * Calls listener with every change of the caller's list, and connects if
   * need be. Returns the unsubscribe function; the last one closes the
   * socket.
   */
  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) {
      wx.onNetworkStatusChange(this.onNetworkStatus);
    }
    this.reconnectNow();
    let subscribed = true;
    return () => {
      if (!subscribed) {
        return;
      }
      subscribed = false;
      this.listeners.delete(listener);
      if (this.listeners.size === 0) {
        this.unwatchNetwork();
        this.disconnect();
      }
    };
  }

  /** Connects now if there are listeners and no socket (onShow, network back). */
  resume(): void {
    this.paused = false;
    this.reconnectNow();
  }

  /** Closes the socket until resume(); the version is kept for the resync. */
  pause(): void {
    this.paused = true;
    this.disconnect();
  }

  /** Closes the socket and forgets listeners and version (before a logout). */
  close(): void {
    if (this.listeners.size > 0) {
      this.unwatchNetwork();
    }
    this.listeners.clear();
    this.disconnect();
    this.known = null;
    this.attempt = 0;
    this.holdUntil = 0;
    this.paused = false;
  }

  /**
   * Tells the client the version of a list the listener has just loaded.
   * A list older than what the open socket's events start from misses the
   * changes in between: the listeners get a RESYNC.
   */
  noteVersion(version: number): void {
    const covered = this.covered;
    if (covered && version < covered.version) {
      this.advance(covered.version);
      this.emit({ kind: 'RESYNC', id: null, todo: null, version: covered.version, totalCount: covered.totalCount });
      return;
    }
    this.advance(version);
  }

  private readonly onNetworkStatus = (res: { isConnected: boolean }): void => {
    if (res.isConnected) {
      this.reconnectNow();
    }
  };

  private unwatchNetwork(): void {
    // The typings give off's listener another parameter type than on's;
    // WeChat wants the very function passed to onNetworkStatusChange.
    wx.offNetworkStatusChange(this.onNetworkStatus as unknown as WechatMiniprogram.OffNetworkStatusChangeCallback);
  }

  private reconnectNow(): void {
    if (this.paused || this.listeners.size === 0 || this.current === 'open' || this.current === 'connecting') {
      return;
    }
    this.clearRetry();
    this.connect();
  }

  private connect(): void {
    const wait = this.holdUntil - Date.now();
    if (wait > 0) {
      this.schedule(wait);
      return;
    }
    const gen = ++this.generation;
    this.current = 'connecting';
    const token = this.client.getToken();
    // Through Cloud Hosting no token is needed: the platform names the caller.
    if (token || this.client.platformIdentity) {
      this.open(token);
      return;
    }
    this.client.login().then(
      (r) => {
        if (gen === this.generation) {
          this.open(r.token);
        }
      },
      () => {
        if (gen === this.generation) {
          this.retry();
        }
      },
    );
  }

  private open(token: string): void {
    // Deferred: `task` is assigned by then, even if fail came at once.
    const fail = (errMsg: string) => Promise.resolve().then(() => this.closed(task, token, 1006, errMsg));
    const task: SocketTask = this.ownUrl
      ? wx.connectSocket({ url: this.url, protocols: [SUBPROTOCOL], fail: (err) => fail((err && err.errMsg) || 'connectSocket:fail') })
      : this.client.transport.connectSocket({ protocols: [SUBPROTOCOL], fail });
    this.task = task;
    task.onOpen(() => {
      if (task !== this.task) {
        // Given up while it was opening.
        task.close({ code: 1000, reason: 'client closed' });
        return;
      }
      this.armIdle(task, token);
      this.send(task, { type: 'connection_init', payload: token ? { Authorization: 'Bearer ' + token } : {} });
    });
    task.onMessage((res) => this.message(task, token, res.data));
    task.onClose((res) => this.closed(task, token, res.code, res.reason || ''));
    task.onError((err) => this.closed(task, token, 1006, (err && err.errMsg) || 'socket error'));
  }

  private message(task: SocketTask, token: string, data: string | ArrayBuffer): void {
    if (task !== this.task) {
      return;
    }
    this.armIdle(task, token);
    if (typeof data !== 'string') {
      return;
    }
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch (e) {
      return;
    }
    if (!isObject(msg)) {
      return;
    }
    switch (msg.type) {
      case 'connection_ack':
        this.reloggedIn = false;
        this.current = 'open';
        // Subscribe first, then read the version: a change after the read
        // comes as an event.
        this.send(task, { id: SUBSCRIPTION_ID, type: 'subscribe', payload: { query: TodoChangedDocument.toString() } });
        this.checkVersion(task, token);
        break;
      case 'ping':
        this.send(task, { type: 'pong' });
        break;
      case 'next':
        if (msg.id === SUBSCRIPTION_ID) {
          const payload = msg.payload;
          const change = isObject(payload) && isObject(payload.data) ? payload.data.todoChanged : null;
          if (isObject(change)) {
            this.deliver(change as TodoChange);
          }
        }
        break;
      case 'error':
        if (msg.id === SUBSCRIPTION_ID) {
          const errors = Array.isArray(msg.payload) ? msg.payload : [];
          const unauthenticated = errors.some((e) => isObject(e) && isObject(e.extensions) && e.extensions.code === 'UNAUTHENTICATED');
          // An UNAUTHENTICATED subscription is handled as a 4401.
          this.giveUp(task, token, unauthenticated ? CloseCode.SESSION_ENDED : CloseCode.GIVE_UP, 'subscription error: ' + JSON.stringify(errors).slice(0, 200));
        }
        break;
      case 'complete':
        if (msg.id === SUBSCRIPTION_ID) {
          this.giveUp(task, token, CloseCode.GIVE_UP, 'the server completed the subscription');
        }
        break;
    }
  }

  private deliver(change: TodoChange): void {
    if (change.kind !== 'RESYNC' && this.known !== null && change.version <= this.known) {
      return;
    }
    this.advance(change.version);
    this.emit(change);
  }

  /** The version check after connection_ack (see the file comment). */
  private checkVersion(task: SocketTask, token: string): void {
    const before = this.known;
    this.client.request(TodoVersionDocument, {}, { retryNetworkError: true }).then(
      (data) => {
        if (task !== this.task) {
          return;
        }
        const fresh = data.todos;
        this.attempt = 0;
        this.covered = { version: fresh.version, totalCount: fresh.totalCount };
        if (before !== null && fresh.version < before) {
          // The server's list started over (a new database): start over too.
          this.known = fresh.version;
        } else {
          this.advance(fresh.version);
        }
        if (before !== null && fresh.version !== before) {
          this.emit({ kind: 'RESYNC', id: null, todo: null, version: fresh.version, totalCount: fresh.totalCount });
        }
      },
      (err: unknown) => {
        // Nothing tells what was missed: try the whole connection again.
        this.giveUp(task, token, CloseCode.GIVE_UP, 'version check failed: ' + (err instanceof Error ? err.message : String(err)));
      },
    );
  }

  /** Closes task on the client's own account and goes on as for a close with code. */
  private giveUp(task: SocketTask, token: string, code: number, reason: string): void {
    if (task !== this.task) {
      return;
    }
    task.close({ code: CloseCode.GIVE_UP, reason: reason.slice(0, 120) });
    this.closed(task, token, code, reason);
  }

  private closed(task: SocketTask, token: string, code: number, reason: string): void {
    if (task !== this.task) {
      return;
    }
    this.task = null;
    this.covered = null;
    this.current = 'idle';
    this.clearIdle();
    this.lastClose = { code, reason };
    if (this.paused || this.listeners.size === 0) {
      return;
    }
    if ((code === CloseCode.SESSION_ENDED || code === CloseCode.FORBIDDEN) && !this.reloggedIn) {
      this.reloggedIn = true;
      const gen = ++this.generation;
      this.current = 'connecting';
      this.client.tokenAfterRejection(token).then(
        (fresh) => {
          if (gen === this.generation) {
            this.open(fresh);
          }
        },
        () => {
          if (gen === this.generation) {
            this.retry();
          }
        },
      );
      return;
    }
    if (code === CloseCode.TOO_MANY) {
      this.holdUntil = Date.now() + this.jitter(this.tooManyDelay);
    }
    this.retry();
  }

  /** Schedules the next connection with exponential backoff and jitter. */
  private retry(): void {
    const base = Math.min(this.maxDelay, this.minDelay * Math.pow(2, this.attempt));
    this.attempt++;
    this.schedule(Math.max(this.jitter(base), this.holdUntil - Date.now()));
  }

  /** Half of ms plus a random part of the other half. */
  private jitter(ms: number): number {
    return Math.round(ms / 2 + (this.random() * ms) / 2);
  }

  private schedule(delay: number): void {
    this.clearRetry();
    const gen = ++this.generation;
    this.current = 'waiting';
    this.lastDelay = delay;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (gen !== this.generation) {
        return;
      }
      this.reloggedIn = false;
      this.current = 'idle';
      this.connect();
    }, delay);
  }

  private disconnect(): void {
    this.generation++;
    this.clearRetry();
    this.clearIdle();
    const task = this.task;
    this.task = null;
    this.covered = null;
    this.current = 'idle';
    if (task) {
      task.close({ code: 1000, reason: 'client closed' });
    }
  }

  private armIdle(task: SocketTask, token: string): void {
    this.clearIdle();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      this.giveUp(task, token, CloseCode.GIVE_UP, `no message from the server in ${this.idleTimeout} ms`);
    }, this.idleTimeout);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
  }

  private clearIdle(): void {
    if (this.idleTimer !== null) {
      clearTimeout(this.idleTimer);
      this.idleTimer = null;
    }
  }

  private advance(version: number): void {
    if (this.known === null || version > this.known) {
      this.known = version;
    }
  }

  private send(task: SocketTask, message: Record<string, unknown>): void {
    task.send({ data: JSON.stringify(message) });
  }

  private emit(change: TodoChange): void {
    for (const listener of Array.from(this.listeners)) {
      try {
        listener(change);
      } catch (err) {
        // One listener's bug does not stop the others or the socket.
        console.error('live: listener failed', err);
      }
    }
  }
}
