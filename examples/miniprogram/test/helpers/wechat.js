// A stand-in for WeChat's jscode2session on a loopback port, for tests that
// need two devices of one user: two live sessions at once.
//
// The development mock cannot give that: it derives the openid from the
// code itself, so another code is another user, and the same code again is
// a retry of the first login, whose new session replaces the first one
// (auth.Service.Login, db.AuthStore.ResumeSignIn). Real WeChat hands every
// wx.login() a fresh code and maps them all to the user's one openid; this
// fake does the same with codes of the form "<user>@<device>#<n>": every
// code before the "@" is the same user. A code is good for one exchange
// (errcode 40163 after that, as WeChat answers) and unknown shapes get
// 40029. wxtodo runs in production mode against it (WECHAT_APPID,
// WECHAT_SECRET, and WECHAT_API_BASE on loopback, which config.go allows
// over plain http for a test server).
'use strict';

const crypto = require('node:crypto');
const http = require('node:http');

const APPID = 'wxtestappid00000';
const SECRET = 'test-secret-not-for-production';

/**
 * Starts the fake. Returns { url, env, exchanges, stop() }: env is what to
 * pass to startServer; exchanges counts the codes it accepted.
 */
async function startFakeWeChat() {
  const used = new Set();
  const fake = { url: '', env: null, exchanges: 0, stop: null };
  const srv = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://127.0.0.1');
    const reply = (body) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    if (u.pathname !== '/sns/jscode2session') {
      res.statusCode = 404;
      reply({ errcode: 404, errmsg: 'not faked: ' + u.pathname });
      return;
    }
    if (u.searchParams.get('appid') !== APPID || u.searchParams.get('secret') !== SECRET) {
      reply({ errcode: 40125, errmsg: 'invalid appsecret' });
      return;
    }
    const code = u.searchParams.get('js_code') || '';
    const m = /^([^@]+)@[^@]+$/.exec(code);
    if (!m) {
      reply({ errcode: 40029, errmsg: 'invalid code' });
      return;
    }
    if (used.has(code)) {
      reply({ errcode: 40163, errmsg: 'code been used' });
      return;
    }
    used.add(code);
    fake.exchanges++;
    const user = m[1];
    const digest = (s) => crypto.createHash('sha256').update(s).digest();
    reply({
      openid: 'o-' + digest('openid:' + user).toString('hex').slice(0, 24),
      // A session_key of 16 bytes, as WeChat's; each device gets its own.
      session_key: digest('session-key:' + code).subarray(0, 16).toString('base64'),
    });
  });
  await new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  fake.url = `http://127.0.0.1:${srv.address().port}`;
  fake.env = {
    WECHAT_APPID: APPID,
    WECHAT_SECRET: SECRET,
    WECHAT_API_BASE: fake.url,
    // Production mode seals session_keys with DATA_KEY.
    DATA_KEY: crypto.randomBytes(32).toString('base64'),
  };
  fake.stop = () => new Promise((resolve) => srv.close(() => resolve()));
  return fake;
}

/**
 * wx.login codes for one device of a user: a fresh code per call, as
 * WeChat gives, all of them the same user for the fake above.
 */
function deviceCodes(user, device) {
  let n = 0;
  return () => `${user}@${device}#${++n}`;
}

module.exports = { startFakeWeChat, deviceCodes };
