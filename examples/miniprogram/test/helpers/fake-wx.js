// A stand-in for the mini-program's `wx` global, enough for the API client:
// request (real HTTP with node:http, the way wx.request behaves), login
// (hands out a code), storage in memory, connectSocket (a real WebSocket,
// with the `ws` package: Node 20 has no WebSocket client of its own) and
// the network status events, which a test fires.
'use strict';

const { EventEmitter } = require('node:events');
const http = require('node:http');
const WebSocket = require('ws');

/**
 * Creates a fake wx. options.code is the code every wx.login() hands out:
 * the server's development mock maps a code to a user, so one code is one
 * user, as one WeChat account would be. It may be a function instead, called
 * for a fresh code per wx.login() (as WeChat gives; see wechat.js).
 *
 * The returned object has:
 * - wx: the global to install (globalThis.wx = fake.wx)
 * - storage: the Map behind *StorageSync
 * - logins: how many times wx.login was called
 * - requests: every wx.request: { url, header, body, statusCode, response, dropped }
 * - hooks.beforeSend(entry): may change entry.header before the request goes out
 * - hooks.dropResponse(entry): return true to lose the answer (the server
 *   handled the request, the client gets a network failure)
 * - hooks.loginFails: when set, wx.login fails
 * - sockets: every wx.connectSocket: { at, url, header, protocols, protocol (the
 *   one the server chose), ws, sent ({ message, dropped }), received (parsed
 *   messages), opened, closed ({ code, reason } once closed), closedAt,
 *   closedBy ('client' or 'server') }
 * - hooks.beforeSocketSend(socket, message): return false to drop a message
 *   the client sends (it is still recorded in sent, with dropped: true)
 * - setNetwork({ isConnected, networkType }): fires the
 *   wx.onNetworkStatusChange listeners; while not connected, new sockets
 *   fail and open ones are cut (as a phone in airplane mode), requests too
 * - networkListeners: the Set of those listeners
 */
function createFakeWx(options = {}) {
  const fake = {
    storage: new Map(),
    logins: 0,
    requests: [],
    hooks: { beforeSend: null, dropResponse: null, loginFails: false, beforeSocketSend: null },
    sockets: [],
    networkListeners: new Set(),
    online: true,
    wx: null,
    setNetwork(status) {
      fake.online = status.isConnected;
      if (!fake.online) {
        for (const s of fake.sockets) {
          if (!s.closed) {
            s.ws.terminate();
          }
        }
      }
      const res = { isConnected: status.isConnected, networkType: status.networkType || (status.isConnected ? 'wifi' : 'none') };
      for (const fn of [...fake.networkListeners]) {
        fn(res);
      }
    },
  };

  const wx = {
    login(opts = {}) {
      fake.logins++;
      setImmediate(() => {
        if (fake.hooks.loginFails) {
          const err = { errMsg: 'login:fail fake failure' };
          opts.fail && opts.fail(err);
          opts.complete && opts.complete(err);
          return;
        }
        const code = typeof options.code === 'function' ? options.code() : options.code;
        const res = { code, errMsg: 'login:ok' };
        opts.success && opts.success(res);
        opts.complete && opts.complete(res);
      });
    },

    request(opts) {
      const method = (opts.method || 'GET').toUpperCase();
      const header = { ...(opts.header || {}) };
      let payload = opts.data;
      const contentType = Object.keys(header).find((k) => k.toLowerCase() === 'content-type');
      if (payload !== undefined && typeof payload !== 'string') {
        // wx.request serialises an object as JSON for a JSON POST.
        payload = contentType && /json/.test(header[contentType]) ? JSON.stringify(payload) : String(payload);
      }
      const entry = { url: opts.url, method, header, body: parseJSON(payload), statusCode: 0, response: undefined, dropped: false };
      fake.requests.push(entry);
      if (fake.hooks.beforeSend) {
        fake.hooks.beforeSend(entry);
      }
      const finish = (ok, res) => {
        const cb = ok ? opts.success : opts.fail;
        cb && cb(res);
        opts.complete && opts.complete(res);
      };
      if (!fake.online) {
        setImmediate(() => finish(false, { errMsg: 'request:fail offline', errno: 600001 }));
        return { abort() {} };
      }
      const req = http.request(opts.url, { method, headers: entry.header }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          // dataType "json" (the default) parses the body, and keeps the
          // text when it is not JSON.
          const data = (opts.dataType || 'json') === 'json' ? parseJSON(text, text) : text;
          entry.statusCode = res.statusCode;
          entry.response = data;
          if (fake.hooks.dropResponse && fake.hooks.dropResponse(entry)) {
            entry.dropped = true;
            finish(false, { errMsg: 'request:fail interrupted', errno: 600001 });
            return;
          }
          finish(true, { data, statusCode: res.statusCode, header: res.headers, cookies: [], errMsg: 'request:ok' });
        });
      });
      req.setTimeout(opts.timeout || 60000, () => req.destroy(new Error('timeout')));
      req.on('error', (err) => finish(false, { errMsg: 'request:fail ' + err.message, errno: 600001 }));
      if (payload !== undefined && method !== 'GET') {
        req.write(payload);
      }
      req.end();
      return { abort: () => req.destroy(new Error('abort')) };
    },

    connectSocket(opts) {
      return connectSocket(fake, opts);
    },

    onNetworkStatusChange(fn) {
      fake.networkListeners.add(fn);
    },
    offNetworkStatusChange(fn) {
      if (fn) {
        fake.networkListeners.delete(fn);
      } else {
        fake.networkListeners.clear();
      }
    },

    getStorageSync(key) {
      // Like wx: an absent key reads as "".
      return fake.storage.has(key) ? fake.storage.get(key) : '';
    },
    setStorageSync(key, value) {
      fake.storage.set(key, value);
    },
    removeStorageSync(key) {
      fake.storage.delete(key);
    },
  };
  fake.wx = wx;
  return fake;
}

/**
 * wx.connectSocket over a real WebSocket: the SocketTask's listeners get
 * what WeChat hands them (onOpen {header, profile}, onMessage {data},
 * onClose {code, reason}, onError {errMsg}); send({data}) and
 * close({code, reason}) take WeChat's options with success/fail/complete.
 */
function connectSocket(fake, opts) {
  if (!opts || typeof opts.url !== 'string' || !/^wss?:\/\//.test(opts.url)) {
    throw new TypeError('connectSocket: url must be ws:// or wss://, got ' + (opts && opts.url));
  }
  // WeChat takes protocols as an array of strings only: a bare string is
  // not a subprotocol list there.
  if (opts.protocols !== undefined && !(Array.isArray(opts.protocols) && opts.protocols.every((p) => typeof p === 'string'))) {
    throw new TypeError('connectSocket: protocols must be an array of strings, got ' + JSON.stringify(opts.protocols));
  }
  const listeners = { open: [], message: [], close: [], error: [] };
  const fire = (name, res) => {
    for (const fn of listeners[name]) {
      fn(res);
    }
  };
  const header = { ...(opts.header || {}) };
  const ws = fake.online
    ? new WebSocket(opts.url, opts.protocols || [], { headers: header, handshakeTimeout: opts.timeout || 60000 })
    : offlineSocket();
  const entry = {
    at: Date.now(),
    url: opts.url,
    header,
    protocols: opts.protocols,
    protocol: '',
    ws,
    sent: [],
    received: [],
    opened: false,
    closed: null,
    closedBy: '',
  };
  fake.sockets.push(entry);
  const callback = (o, ok, res) => {
    const cb = ok ? o && o.success : o && o.fail;
    cb && cb(res);
    o && o.complete && o.complete(res);
  };
  // The task exists: connectSocket's success (not the socket's open).
  setImmediate(() => callback(opts, true, { errMsg: 'connectSocket:ok' }));

  ws.on('open', () => {
    entry.opened = true;
    entry.protocol = ws.protocol;
    fire('open', { header: {}, profile: {} });
  });
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? null : data.toString('utf8');
    entry.received.push(text === null ? data : parseJSON(text, text));
    fire('message', { data: isBinary ? new Uint8Array(data).buffer : text });
  });
  ws.on('error', (err) => {
    fire('error', { errMsg: 'connectSocket:fail ' + err.message });
  });
  ws.on('close', (code, reason) => {
    entry.closed = { code, reason: reason.toString('utf8') };
    entry.closedAt = Date.now();
    entry.closedBy = entry.closedBy || 'server';
    fire('close', { code, reason: entry.closed.reason });
  });

  return {
    onOpen: (fn) => listeners.open.push(fn),
    onMessage: (fn) => listeners.message.push(fn),
    onClose: (fn) => listeners.close.push(fn),
    onError: (fn) => listeners.error.push(fn),
    send(o) {
      const msg = typeof o.data === 'string' ? parseJSON(o.data, o.data) : o.data;
      const record = { message: msg, dropped: false };
      entry.sent.push(record);
      if (ws.readyState !== WebSocket.OPEN) {
        setImmediate(() => callback(o, false, { errMsg: 'sendSocketMessage:fail the socket is not open' }));
        return;
      }
      if (fake.hooks.beforeSocketSend && fake.hooks.beforeSocketSend(entry, msg) === false) {
        record.dropped = true;
        setImmediate(() => callback(o, true, { errMsg: 'sendSocketMessage:ok' }));
        return;
      }
      ws.send(o.data, (err) => callback(o, !err, { errMsg: err ? 'sendSocketMessage:fail ' + err.message : 'sendSocketMessage:ok' }));
    },
    close(o = {}) {
      if (!entry.closedBy) {
        entry.closedBy = 'client';
      }
      if (ws.readyState === WebSocket.CONNECTING) {
        // The handshake is dropped; onError and onClose (1006) follow.
        ws.terminate();
      } else if (ws.readyState === WebSocket.OPEN) {
        ws.close(o.code === undefined ? 1000 : o.code, o.reason);
      }
      setImmediate(() => callback(o, true, { errMsg: 'closeSocket:ok' }));
    },
  };
}

/** What a socket is without a network: it fails and closes (1006) at once. */
function offlineSocket() {
  const e = new EventEmitter();
  e.readyState = WebSocket.CLOSED;
  e.protocol = '';
  e.terminate = () => {};
  e.close = () => {};
  e.send = () => {};
  setImmediate(() => {
    e.emit('error', new Error('offline'));
    e.emit('close', 1006, Buffer.alloc(0));
  });
  return e;
}

function parseJSON(text, fallback) {
  if (typeof text !== 'string') {
    return fallback;
  }
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

/** A code for a user of its own per test run. */
function userCode(name) {
  return `${name}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

module.exports = { createFakeWx, userCode };
