// WeChat Cloud Hosting (微信云托管) mode: the mini-program's client (build/)
// sends through wx.cloud.callContainer and wx.cloud.connectContainer instead
// of wx.request and wx.connectSocket, with the same typed API, and never
// signs in: the platform puts the caller's openid into each call's headers.
// The fake wx.cloud (helpers/fake-cloud.js) forwards each call to a wxtodo
// run with CLOUD_HOSTING=true, adding those headers as the platform does
// and dropping any X-WX-* header the caller set.
//
// CLOUD_HOSTING=true needs PostgreSQL: a schema of this file's own in
// TEST_DATABASE_URL (CI's), or a throwaway cluster (helpers/postgres.js).
// Without either the file is skipped, except under CI=true, where it fails.
// The server has WECHAT_APPID and no WECHAT_SECRET (so login is
// FORBIDDEN), and WECHAT_API_BASE on the loopback fake WeChat: nothing
// leaves the machine.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');

const { startServer } = require('./helpers/server');
const { startPostgres, unavailable } = require('./helpers/postgres');
const { createFakeWx } = require('./helpers/fake-wx');
const { attachFakeCloud, openidOf } = require('./helpers/fake-cloud');
const { startFakeWeChat } = require('./helpers/wechat');
const { waitFor } = require('./helpers/device');
const { GraphQLClient, GraphQLClientError, ClientCode } = require('../build/api/graphql.js');
const { TodoApi } = require('../build/api/todos.js');
const { LiveClient, SUBPROTOCOL } = require('../build/api/live.js');
const ops = require('../build/api/generated/operations.js');

const BUILD = path.join(__dirname, '..', 'build');
const TOKEN_KEY = 'wxtodo.token';
const APPID = 'wxcloudhosting0001';
const ENV = 'prod-7gtest0a1b2c3d';
const SERVICE = 'wxtodo';

const noPostgres = unavailable();
const skip = noPostgres && process.env.CI !== 'true' ? noPostgres : false;

describe('Cloud Hosting mode: wx.cloud.callContainer against wxtodo with CLOUD_HOSTING=true', { skip }, () => {
  let db;
  let wechat;
  let server;
  const cleanups = [];

  before(async () => {
    db = await startPostgres();
    wechat = await startFakeWeChat();
    server = await startServer({
      CLOUD_HOSTING: 'true',
      DATABASE_URL: db.url,
      WECHAT_APPID: APPID,
      // No WECHAT_SECRET: the platform's headers sign callers in.
      DATA_KEY: crypto.randomBytes(32).toString('base64'),
      WECHAT_API_BASE: wechat.url,
    });
  });

  after(async () => {
    if (server) {
      await server.stop();
    }
    if (wechat) {
      await wechat.stop();
    }
    if (db) {
      await db.stop();
    }
  });

  afterEach(() => {
    while (cleanups.length > 0) {
      cleanups.pop()();
    }
  });

  let users = 0;
  const userName = (name) => `${name}${++users}-${process.pid}`;

  /**
   * A phone of a WeChat user: a fake wx with the fake wx.cloud, and a
   * client configured for Cloud Hosting (options.env and options.service
   * stand for a misconfigured one). Install it with on() before a call.
   */
  function device(user, options = {}) {
    let n = 0;
    const fake = createFakeWx({ code: () => `${user}-code-${++n}` });
    const cloud = attachFakeCloud(fake, { base: server.base, appId: APPID, env: ENV, service: SERVICE, user });
    const client = new GraphQLClient({ cloud: { env: options.env || ENV, service: options.service || SERVICE } });
    const d = { user, fake, cloud, client, api: new TodoApi(client) };
    on(d);
    return d;
  }

  /** Makes d the phone the client code runs on (the wx global). */
  function on(d) {
    globalThis.wx = d.fake.wx;
    return d;
  }

  /** The GraphQL operation names of a device's callContainer calls, in order. */
  const sent = (d) => d.cloud.calls.map((c) => /(?:query|mutation) (\w+)/.exec(c.body.query)[1]);

  /** What the platform forwards from another phone of a user: a plain POST with its headers. */
  async function otherPhone(user, query, variables = {}) {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-WX-SOURCE': 'wx_client', 'X-WX-APPID': APPID, 'X-WX-OPENID': openidOf(user) },
      body: JSON.stringify({ query, variables }),
    });
    const body = await res.json();
    assert.equal(body.errors, undefined, JSON.stringify(body.errors));
    return body.data;
  }

  async function rejectsWith(promise, fields) {
    const err = await promise.then(
      () => assert.fail('expected a GraphQLClientError'),
      (e) => e,
    );
    assert.ok(err instanceof GraphQLClientError, `not a GraphQLClientError: ${err && err.stack}`);
    for (const [k, v] of Object.entries(fields)) {
      assert.equal(err[k], v, `error.${k} (${err.code}: ${err.message})`);
    }
    return err;
  }

  /** The platform's headers as the server got them. */
  function assertPlatformHeaders(call, openid) {
    assert.equal(call.forwarded['X-WX-SOURCE'], 'wx_client');
    assert.equal(call.forwarded['X-WX-APPID'], APPID);
    assert.equal(call.forwarded['X-WX-OPENID'], openid);
  }

  it('configured in config.ts, the app\'s client does the todo flow through callContainer with no login at all', async () => {
    const d = device(userName('flow'));
    // As a version of the mini-program configured for Cloud Hosting: the
    // app's own client (api/index.js) from config.ts.
    const config = require(path.join(BUILD, 'config.js'));
    config.CLOUD_HOSTING.develop = { env: ENV, service: SERVICE };
    const { client, api } = require(path.join(BUILD, 'api/index.js'));
    assert.equal(client.platformIdentity, true);
    assert.equal(client.url, '');
    assert.equal(client.target, `cloud:${ENV}/${SERVICE}/query`);

    const me = await api.me();
    const milk = await api.create('buy milk');
    const page = await api.list();
    assert.deepEqual(page.todos.map((t) => t.id), [milk.id]);
    assert.equal(page.totalCount, 1);
    assert.equal((await api.setDone(milk.id, true)).done, true);
    assert.equal((await api.rename(milk.id, 'buy oat milk')).title, 'buy oat milk');
    assert.deepEqual((await api.get(milk.id)).title, 'buy oat milk');
    assert.equal(await api.remove(milk.id), milk.id);
    assert.equal((await api.list()).totalCount, 0);

    // No sign-in of any kind, no wx.request, no token.
    assert.equal(d.fake.logins, 0, 'wx.login never called');
    assert.deepEqual(sent(d), ['Me', 'CreateTodo', 'Todos', 'UpdateTodo', 'UpdateTodo', 'Todo', 'DeleteTodo', 'Todos']);
    assert.equal(d.fake.requests.length, 0, 'no wx.request');
    assert.equal(d.fake.storage.has(TOKEN_KEY), false);
    // wx.cloud.init once, with the env, before the first call.
    assert.deepEqual(d.cloud.inits, [{ env: ENV }]);
    // The request shape, every time.
    for (const call of d.cloud.calls) {
      assert.equal(call.failed, '', call.failed);
      assert.equal(call.env, ENV);
      assert.equal(call.path, '/query');
      assert.equal(call.method, 'POST');
      assert.equal(call.header['X-WX-SERVICE'], SERVICE);
      assert.equal(call.header['content-type'], 'application/json');
      assert.equal(call.header.Authorization, undefined, 'no token');
      assertPlatformHeaders(call, d.cloud.openid);
      assert.equal(call.statusCode, 200);
    }
    // The generated documents are what goes out.
    assert.equal(d.cloud.calls[2].body.query, ops.TodosDocument.toString());
    assert.deepEqual(d.cloud.calls[1].body.variables.input.title, 'buy milk');
    // The same user on the next call: the openid's.
    assert.equal((await api.me()).id, me.id);
  });

  it('two phones of different users see only their own todos; another phone of the same user sees the same', async () => {
    const aliceName = userName('alice');
    const alice = device(aliceName);
    const bob = device(userName('bob'));
    const alicePad = device(aliceName);
    assert.notEqual(alice.cloud.openid, bob.cloud.openid);
    assert.equal(alicePad.cloud.openid, alice.cloud.openid);

    const a = await on(alice).api.create('alice: call mum');
    const aliceId = (await alice.api.me()).id;
    const b = await on(bob).api.create('bob: fix the bike');
    const bobId = (await bob.api.me()).id;
    assert.notEqual(aliceId, bobId);

    assert.deepEqual((await bob.api.list()).todos.map((t) => t.title), ['bob: fix the bike']);
    assert.equal(await bob.api.get(a.id), null, "alice's todo is not bob's to read");
    await rejectsWith(bob.api.setDone(a.id, true), { code: 'NOT_FOUND' });
    await rejectsWith(bob.api.remove(a.id), { code: 'NOT_FOUND' });

    assert.deepEqual((await on(alice).api.list()).todos.map((t) => t.id), [a.id]);
    assert.equal((await alice.api.get(a.id)).done, false, "bob's update did not land");
    assert.equal(await alice.api.get(b.id), null);

    on(alicePad);
    assert.equal((await alicePad.api.me()).id, aliceId);
    assert.deepEqual((await alicePad.api.list()).todos.map((t) => t.id), [a.id]);

    for (const d of [alice, bob, alicePad]) {
      assert.equal(d.fake.logins, 0);
      for (const call of d.cloud.calls) {
        assertPlatformHeaders(call, d.cloud.openid);
      }
    }
  });

  it('X-WX-* headers the caller sets are dropped: the platform names the caller, a forged openid is nobody', async () => {
    const victim = device(userName('victim'));
    await victim.api.create('victim: the secret');
    const victimId = (await victim.api.me()).id;

    const mallory = device(userName('mallory'));
    const malloryId = (await mallory.api.me()).id;
    mallory.cloud.calls.length = 0;
    const res = await new Promise((resolve, reject) => {
      wx.cloud.callContainer({
        config: { env: ENV },
        path: '/query',
        method: 'POST',
        header: {
          'X-WX-SERVICE': SERVICE,
          'content-type': 'application/json',
          'X-WX-OPENID': victim.cloud.openid,
          'x-wx-appid': 'wxsomeoneelse00001',
          'X-WX-SOURCE': 'forged',
          'X-WX-UNIONID': 'u-forged',
          'X-WX-FROM-APPID': APPID,
          'X-WX-FROM-OPENID': victim.cloud.openid,
        },
        data: { query: '{ me { id } todos(first: 10) { totalCount edges { node { title } } } }' },
        success: resolve,
        fail: reject,
      });
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.data.errors, undefined, JSON.stringify(res.data.errors));
    assert.equal(res.data.data.me.id, malloryId, "mallory's own user, whatever she sent");
    assert.notEqual(res.data.data.me.id, victimId);
    assert.equal(res.data.data.todos.totalCount, 0, "none of the victim's todos");

    const [call] = mallory.cloud.calls;
    assert.equal(call.header['X-WX-OPENID'], victim.cloud.openid, 'what she tried');
    assertPlatformHeaders(call, mallory.cloud.openid);
    const forwardedWX = Object.keys(call.forwarded).filter((k) => /^x-wx-/i.test(k)).sort();
    assert.deepEqual(forwardedWX, ['X-WX-APPID', 'X-WX-ENV', 'X-WX-OPENID', 'X-WX-SOURCE'], 'only the platform\'s own');
  });

  it('logout answers false for the platform\'s caller (no session); client.logout() sends nothing, and calls go on', async () => {
    const d = device(userName('logout'));
    const me = await d.api.me();
    assert.deepEqual(await d.client.request(ops.LogoutDocument, {}), { logout: false });
    assert.equal((await d.api.me()).id, me.id, 'still signed in: there was no session to end');

    const calls = d.cloud.calls.length;
    await d.client.logout();
    assert.equal(d.cloud.calls.length, calls, 'nothing to revoke, nothing sent');
    assert.equal((await d.api.list()).totalCount, 0);
    assert.equal(d.fake.logins, 0);
  });

  it('login without WECHAT_SECRET is FORBIDDEN; the platform\'s sign-in works all the same', async () => {
    const d = device(userName('login'));
    const err = await rejectsWith(d.client.login(), { code: 'FORBIDDEN', statusCode: 200 });
    assert.match(err.message, /WECHAT_SECRET/);
    assert.equal(d.fake.logins, 1, 'login() was called on purpose: one wx.login');
    assert.deepEqual(sent(d), ['Login']);
    assert.deepEqual(d.cloud.calls[0].body.variables, { input: { code: `${d.user}-code-1` } });
    assert.equal(d.fake.storage.has(TOKEN_KEY), false);
    assert.equal(wechat.exchanges, 0, 'WeChat was never asked');

    assert.ok((await d.api.me()).id);
    assert.equal(d.fake.logins, 1);
  });

  it('UNAUTHENTICATED through the platform is thrown at once: no wx.login, no login, no retry', async () => {
    const d = device(userName('anon'));
    d.cloud.hooks.anonymous = true; // the platform sends no openid
    const err = await rejectsWith(d.api.me(), { code: 'UNAUTHENTICATED', reason: 'MISSING_TOKEN' });
    assert.ok(err.requestId, 'the server\'s X-Request-Id from callContainer\'s header');
    assert.deepEqual(sent(d), ['Me'], 'one call, no retry');
    assert.equal(d.cloud.calls[0].forwarded['X-WX-OPENID'], undefined);
    assert.equal(d.fake.logins, 0);

    d.cloud.hooks.anonymous = false;
    assert.ok((await d.api.me()).id);
    assert.deepEqual(sent(d), ['Me', 'Me']);
  });

  it('a stored token goes first (it wins over the headers); rejected, it is dropped once and the call goes on by the headers', async () => {
    const d = device(userName('stale'));
    const me = await d.api.me();
    d.cloud.calls.length = 0;
    d.fake.storage.set(TOKEN_KEY, 'x'.repeat(43)); // from a server the app used before, say

    assert.equal((await d.api.me()).id, me.id);
    assert.deepEqual(sent(d), ['Me', 'Me']);
    const [rejected, retry] = d.cloud.calls;
    assert.equal(rejected.header.Authorization, 'Bearer ' + 'x'.repeat(43));
    assert.deepEqual(rejected.response.errors[0].extensions, { code: 'UNAUTHENTICATED', reason: 'INVALID_TOKEN' });
    assert.equal(retry.header.Authorization, undefined);
    assert.equal(d.fake.storage.has(TOKEN_KEY), false, 'the dead token is forgotten');
    assert.equal(d.fake.logins, 0);
  });

  it('a wrong env or service reaches nothing: the platform fails the call, a NETWORK_ERROR', async () => {
    const service = device(userName('service'), { service: 'wxtodo-typo' });
    const e1 = await rejectsWith(service.api.me(), { code: ClientCode.NETWORK_ERROR });
    assert.match(e1.message, /service "wxtodo-typo" not found/);
    const env = device(userName('env'), { env: 'prod-nosuchenv' });
    const e2 = await rejectsWith(env.api.me(), { code: ClientCode.NETWORK_ERROR });
    assert.match(e2.message, /env "prod-nosuchenv" not found/);
    for (const d of [service, env]) {
      // A query is sent once more after a NETWORK_ERROR: both refused.
      assert.equal(d.cloud.calls.length, 2);
      assert.ok(d.cloud.calls.every((c) => c.forwarded === null), 'nothing reached the server');
      assert.equal(d.fake.logins, 0);
    }
  });

  it('live updates through wx.cloud.connectContainer: no token in connection_init, the other phone\'s changes arrive', async () => {
    const d = device(userName('live'));
    const live = new LiveClient({ client: d.client, minDelay: 100, maxDelay: 800, random: () => 0.5 });
    cleanups.push(() => live.close());
    const changes = [];
    live.subscribe((c) => changes.push(c));
    await waitFor(() => live.synced, 'the socket to be open and synced');

    assert.equal(d.cloud.sockets.length, 1);
    const [s] = d.cloud.sockets;
    assert.equal(s.failed, '', s.failed);
    assert.equal(s.env, ENV);
    assert.equal(s.service, SERVICE);
    assert.equal(s.path, '/query');
    assert.deepEqual(s.protocols, [SUBPROTOCOL]);
    assertPlatformHeaders(s, d.cloud.openid);
    assert.equal(d.fake.sockets.length, 1);
    assert.equal(s.socket.via, 'connectContainer', 'no wx.connectSocket of its own');
    assert.equal(s.socket.protocol, 'graphql-transport-ws');
    const [init, sub] = s.socket.sent.map((x) => x.message);
    assert.deepEqual(init, { type: 'connection_init', payload: {} });
    assert.deepEqual(sub, { id: '1', type: 'subscribe', payload: { query: ops.TodoChangedDocument.toString() } });
    assert.equal(s.socket.received[0].type, 'connection_ack');
    assert.deepEqual(sent(d), ['TodoVersion'], 'the version check went through callContainer');

    // Another phone of the same user, through the platform.
    const todo = 'id title done createdAt updatedAt';
    const milk = (await otherPhone(d.user, `mutation { createTodo(input: { title: "buy milk" }) { ${todo} } }`)).createTodo;
    await waitFor(() => changes.length === 1, 'CREATED');
    assert.deepEqual(changes[0], { kind: 'CREATED', id: milk.id, version: 1, totalCount: 1, todo: milk });
    const done = (await otherPhone(d.user, `mutation ($id: ID!) { updateTodo(id: $id, input: { done: true }) { ${todo} } }`, { id: milk.id })).updateTodo;
    await waitFor(() => changes.length === 2, 'UPDATED');
    assert.deepEqual(changes[1], { kind: 'UPDATED', id: milk.id, version: 2, totalCount: 1, todo: done });
    await otherPhone(d.user, 'mutation ($id: ID!) { deleteTodo(id: $id) }', { id: milk.id });
    await waitFor(() => changes.length === 3, 'DELETED');
    assert.equal(changes[2].kind, 'DELETED');
    assert.equal(live.version, 3);

    // Another user's change is not this one's.
    await otherPhone(userName('stranger'), 'mutation { createTodo(input: { title: "not yours" }) { id } }');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(changes.length, 3);

    live.close();
    await waitFor(() => s.socket.closed, 'the socket to close');
    assert.equal(s.socket.closed.code, 1000);
    assert.equal(d.fake.logins, 0);
    assert.equal(d.fake.requests.length, 0);
  });

  it('a socket given up before connectContainer hands it over is closed when it comes, not left open', async () => {
    const d = device(userName('early'));
    const live = new LiveClient({ client: d.client, minDelay: 100, random: () => 0.5 });
    cleanups.push(() => live.close());
    const stop = live.subscribe(() => {});
    stop(); // before connectContainer's success
    assert.equal(live.state, 'idle');
    await waitFor(() => d.cloud.sockets.length === 1 && d.cloud.sockets[0].socket && d.cloud.sockets[0].socket.closed, 'the socket to be closed');
    const s = d.cloud.sockets[0].socket;
    assert.equal(s.closedBy, 'client');
    assert.equal(s.opened, false, 'closed as it came, while connecting: never opened');
    assert.deepEqual(s.sent, [], 'nothing sent on it');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(d.cloud.sockets.length, 1, 'and no other socket');
  });
});
