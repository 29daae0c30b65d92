// A stand-in for the mini-program's `wx` global, enough for the API client:
// request (real HTTP with node:http, the way wx.request behaves), login
// (hands out a code), and storage in memory.
'use strict';

const http = require('node:http');

/**
 * Creates a fake wx. options.code is the code every wx.login() hands out:
 * the server's development mock maps a code to a user, so one code is one
 * user, as one WeChat account would be.
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
 */
function createFakeWx(options = {}) {
  const fake = {
    storage: new Map(),
    logins: 0,
    requests: [],
    hooks: { beforeSend: null, dropResponse: null, loginFails: false },
    wx: null,
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
        const res = { code: options.code, errMsg: 'login:ok' };
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
