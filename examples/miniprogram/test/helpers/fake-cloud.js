// A stand-in for wx.cloud, WeChat Cloud Hosting's side of the mini-program:
// init, callContainer and connectContainer, on a fake wx (fake-wx.js). A
// call goes to the wxtodo the test started as the platform forwards it to
// a container: a real HTTP request (or WebSocket handshake) on the path,
// with the headers the platform sets itself: X-WX-SOURCE, X-WX-APPID,
// X-WX-OPENID (the device's user), X-WX-UNIONID when the user has one, and
// X-WX-ENV. Any X-WX-* header the caller set is dropped first: the platform
// overrides them, so a mini-program cannot name another user.
//
// As the platform, it fails a call (fail with an errMsg, no request sent)
// when wx.cloud.init was not called, when the env (config.env, else the
// init's) is not the configured one, or when the service (callContainer's
// X-WX-SERVICE header, connectContainer's service) is not the configured
// one: a mini-program configured with the wrong ones reaches nothing.
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');

/** An openid of a user's own, 28 characters as WeChat's are. */
function openidOf(user) {
  return 'o' + crypto.createHash('sha256').update('openid:' + user).digest('base64url').slice(0, 27);
}

/** A unionid of a user's own, 28 characters. */
function unionidOf(user) {
  return 'u' + crypto.createHash('sha256').update('unionid:' + user).digest('base64url').slice(0, 27);
}

function headerKey(header, name) {
  return Object.keys(header).find((k) => k.toLowerCase() === name.toLowerCase());
}

function parseJSON(text, fallback) {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

/**
 * Puts a fake wx.cloud on fake.wx (a createFakeWx() result). options:
 * - base: the server's http://127.0.0.1:<port> (the "container")
 * - appId: the mini-program's AppID, the server's WECHAT_APPID
 * - env, service: the Cloud Hosting environment ID and service name that exist
 * - user: the device's WeChat user; openid = openidOf(user) unless given
 * - openid, unionid (optional; none unless given)
 *
 * Returns the cloud fake:
 * - inits: the config of every wx.cloud.init
 * - calls: every callContainer: { env, path, method, header (as the caller
 *   set it), service, forwarded (the headers the server got), body (parsed),
 *   statusCode, response, failed (errMsg when the platform refused it) }
 * - sockets: every connectContainer: { env, service, path, protocols,
 *   forwarded, failed, socket (fake-wx's socket entry) }
 * - openid, unionid: the identity the platform adds (a test may change them)
 * - hooks.anonymous: when set, the platform adds X-WX-SOURCE and X-WX-APPID
 *   but no openid (a call no user is signed in to)
 */
function attachFakeCloud(fake, options) {
  const { base, appId, env, service } = options;
  const cloud = {
    inits: [],
    calls: [],
    sockets: [],
    openid: options.openid || openidOf(options.user),
    unionid: options.unionid || '',
    hooks: { anonymous: false },
  };
  let initEnv = null;
  let initialized = false;
  // wx.connectSocket as it was: connectContainer opens its socket with it
  // (the platform's handshake), and the entry is marked as the platform's.
  const connectSocket = fake.wx.connectSocket;

  const finish = (opts, ok, res) => {
    const cb = ok ? opts.success : opts.fail;
    cb && cb(res);
    opts.complete && opts.complete(res);
  };

  /** What the platform refuses a call for, or ''. */
  const refusal = (api, callEnv, callService) => {
    if (!initialized) {
      return `cloud.${api}:fail wx.cloud.init has not been called`;
    }
    if (callEnv !== env) {
      return `cloud.${api}:fail errCode: -501000 | errMsg: env ${JSON.stringify(callEnv)} not found`;
    }
    if (callService !== service) {
      return `cloud.${api}:fail errCode: -606001 | errMsg: service ${JSON.stringify(callService)} not found in env ${env}`;
    }
    return '';
  };

  /** The caller's headers without X-WX-*, plus the platform's own. */
  const platformHeaders = (header) => {
    const out = {};
    for (const [k, v] of Object.entries(header || {})) {
      if (!/^x-wx-/i.test(k)) {
        out[k] = v;
      }
    }
    out['X-WX-SOURCE'] = 'wx_client';
    out['X-WX-APPID'] = appId;
    out['X-WX-ENV'] = env;
    if (!cloud.hooks.anonymous) {
      out['X-WX-OPENID'] = cloud.openid;
      if (cloud.unionid) {
        out['X-WX-UNIONID'] = cloud.unionid;
      }
    }
    return out;
  };

  fake.wx.cloud = {
    init(config = {}) {
      cloud.inits.push(config);
      initialized = true;
      initEnv = typeof config.env === 'string' ? config.env : null;
    },

    callContainer(opts) {
      const header = { ...(opts.header || {}) };
      const serviceKey = headerKey(header, 'X-WX-SERVICE');
      const entry = {
        env: (opts.config && opts.config.env) || initEnv,
        path: opts.path,
        method: (opts.method || 'GET').toUpperCase(),
        header,
        service: serviceKey ? header[serviceKey] : opts.service,
        forwarded: null,
        body: typeof opts.data === 'string' ? parseJSON(opts.data, opts.data) : opts.data,
        statusCode: 0,
        response: undefined,
        failed: '',
      };
      cloud.calls.push(entry);
      const refused = refusal('callContainer', entry.env, entry.service);
      if (refused || !fake.online) {
        entry.failed = refused || 'cloud.callContainer:fail network offline';
        setImmediate(() => finish(opts, false, { errMsg: entry.failed, errCode: -1 }));
        return;
      }
      let payload = opts.data;
      const contentType = headerKey(header, 'content-type');
      if (payload !== undefined && typeof payload !== 'string') {
        payload = contentType && /json/.test(header[contentType]) ? JSON.stringify(payload) : String(payload);
      }
      entry.forwarded = platformHeaders(header);
      const req = http.request(base + opts.path, { method: entry.method, headers: entry.forwarded }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const data = (opts.dataType || 'json') === 'json' ? parseJSON(text, text) : text;
          entry.statusCode = res.statusCode;
          entry.response = data;
          finish(opts, true, {
            data,
            statusCode: res.statusCode,
            header: res.headers,
            callID: crypto.randomUUID(),
            errMsg: 'cloud.callContainer:ok',
          });
        });
      });
      // The platform ends a call at 15 s.
      req.setTimeout(Math.min(opts.timeout || 15000, 15000), () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        entry.failed = 'cloud.callContainer:fail ' + err.message;
        finish(opts, false, { errMsg: entry.failed, errCode: -1 });
      });
      if (payload !== undefined && entry.method !== 'GET') {
        req.write(payload);
      }
      req.end();
    },

    connectContainer(opts) {
      const entry = {
        env: (opts.config && opts.config.env) || initEnv,
        service: opts.service,
        path: opts.path || '/',
        protocols: opts.protocols,
        forwarded: null,
        failed: '',
        socket: null,
      };
      cloud.sockets.push(entry);
      const refused = refusal('connectContainer', entry.env, entry.service);
      if (refused) {
        entry.failed = refused;
        setImmediate(() => finish(opts, false, { errMsg: refused, errCode: -1 }));
        return;
      }
      entry.forwarded = platformHeaders(opts.header);
      const socketTask = connectSocket({ url: base.replace(/^http/, 'ws') + entry.path, protocols: opts.protocols, header: entry.forwarded });
      entry.socket = fake.sockets[fake.sockets.length - 1];
      entry.socket.via = 'connectContainer';
      setImmediate(() => finish(opts, true, { socketTask, errMsg: 'cloud.connectContainer:ok' }));
    },
  };
  return cloud;
}

module.exports = { attachFakeCloud, openidOf, unionidOf };
