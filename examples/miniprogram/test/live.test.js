// The live client (miniprogram/api/live.ts, compiled to build/) against a
// real wxtodo over a real WebSocket: the fake wx's connectSocket is the `ws`
// package. Another device of the same user makes changes over HTTP.
//
// Two devices of one user need two live sessions at once, which the
// development mock cannot give (another code is another user there, and
// the same code again is a retry that replaces the first session). So this
// wxtodo runs in production mode against a fake WeChat (helpers/wechat.js)
// that maps "<user>@<device>#<n>" codes to one openid per user, as WeChat
// maps every wx.login() code of a user to one openid.
'use strict';

const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');

const { startServer, sleep } = require('./helpers/server');
const { createFakeWx } = require('./helpers/fake-wx');
const { startFakeWeChat, deviceCodes } = require('./helpers/wechat');
const { signIn, graphql, waitFor } = require('./helpers/device');
const { GraphQLClient } = require('../build/api/graphql.js');
const { LiveClient, socketUrl, SUBPROTOCOL } = require('../build/api/live.js');
const { TodoChangedDocument } = require('../build/api/generated/operations.js');

const TOKEN_KEY = 'wxtodo.token';
const MAX_SOCKETS = 3;

describe('live client against wxtodo', () => {
  let wechat;
  let server;
  const cleanups = [];

  before(async () => {
    wechat = await startFakeWeChat();
    server = await startServer({
      ...wechat.env,
      // A ping a second, so that the pong test needs no 25 s; the server
      // cuts a client off after two missed pongs.
      WS_KEEPALIVE: '1s',
      WS_MAX_SOCKETS_PER_USER: String(MAX_SOCKETS),
    });
  });

  after(async () => {
    if (server) {
      await server.stop();
    }
    if (wechat) {
      await wechat.stop();
    }
  });

  afterEach(() => {
    while (cleanups.length > 0) {
      cleanups.pop()();
    }
  });

  let users = 0;

  /**
   * A user with two devices: the phone runs the mini-program client (fake
   * wx installed as the global, a GraphQLClient and a LiveClient recording
   * what it emits); the pc is plain HTTP with a session of its own.
   */
  async function setup(options = {}) {
    const user = `live${++users}-${process.pid}`;
    const fake = createFakeWx({ code: deviceCodes(user, 'phone') });
    globalThis.wx = fake.wx;
    const client = new GraphQLClient({ url: server.url });
    const live = new LiveClient({ client, minDelay: 100, maxDelay: 800, random: () => 0.5, ...options });
    const changes = [];
    const phoneUser = (await client.login()).user;
    const pc = await signIn(server.url, `${user}@pc#1`);
    assert.equal(pc.userId, phoneUser.id, 'the pc is the same user');
    assert.notEqual(pc.token, client.getToken(), 'each device has a session of its own');
    const subscribe = () => {
      const stop = live.subscribe((c) => changes.push(c));
      cleanups.push(stop);
      return stop;
    };
    cleanups.push(() => live.close());
    return { user, fake, client, live, changes, pc, subscribe };
  }

  /** Waits until the live client's socket is open and its version check has answered. */
  const ready = (live, what = 'the socket to be open and synced') => waitFor(() => live.synced, what);

  const kinds = (changes) => changes.map((c) => c.kind);
  const lastSocket = (fake) => fake.sockets[fake.sockets.length - 1];
  const sentTypes = (socket) => socket.sent.map((s) => s.message.type);

  it('subscribes over graphql-transport-ws (protocols an array, token in connection_init) and gets the other device\'s changes', async () => {
    const { fake, client, live, changes, pc, subscribe } = await setup();
    assert.equal(live.url, socketUrl(server.url));
    assert.match(live.url, /^ws:\/\/127\.0\.0\.1:\d+\/query$/);
    assert.equal(socketUrl('https://wxtodo.example.com/query'), 'wss://wxtodo.example.com/query');

    subscribe();
    await ready(live);
    assert.equal(fake.sockets.length, 1);
    const s = fake.sockets[0];
    assert.ok(Array.isArray(s.protocols), 'protocols is an array');
    assert.deepEqual(s.protocols, [SUBPROTOCOL]);
    assert.equal(s.protocol, 'graphql-transport-ws', 'the server chose the subprotocol');
    assert.equal(s.url, live.url);
    assert.deepEqual(s.header, {}, 'the token goes in connection_init, not the handshake');
    const [init, sub] = s.sent.map((x) => x.message);
    assert.deepEqual(init, { type: 'connection_init', payload: { Authorization: 'Bearer ' + client.getToken() } });
    assert.deepEqual(sub, { id: '1', type: 'subscribe', payload: { query: TodoChangedDocument.toString() } });
    assert.equal(s.received[0].type, 'connection_ack');
    // A fresh user's list: version 0, nothing to resync.
    assert.equal(live.version, 0);
    assert.deepEqual(changes, []);

    const milk = await pc.create('buy milk');
    await waitFor(() => changes.length === 1, 'CREATED');
    assert.deepEqual(changes[0], { kind: 'CREATED', id: milk.id, version: 1, totalCount: 1, todo: milk });

    const done = await pc.update(milk.id, { done: true });
    await waitFor(() => changes.length === 2, 'UPDATED');
    assert.deepEqual(changes[1], { kind: 'UPDATED', id: milk.id, version: 2, totalCount: 1, todo: done });

    await pc.remove(milk.id);
    await waitFor(() => changes.length === 3, 'DELETED');
    assert.deepEqual(changes[2], { kind: 'DELETED', id: milk.id, version: 3, totalCount: 0, todo: null });
    assert.equal(live.version, 3);
    assert.equal(fake.sockets.length, 1, 'one socket all along');

    // What WeChat would not take, the fake refuses: protocols as a string.
    assert.throws(() => fake.wx.connectSocket({ url: live.url, protocols: SUBPROTOCOL }), TypeError);
  });

  it('answers every ping with a pong, so the socket stays up (one that does not is cut off)', async () => {
    const { fake, client, live, changes, pc, subscribe } = await setup();
    subscribe();
    await ready(live);
    const s = fake.sockets[0];

    // A second client of the phone's user whose pongs are lost on the way.
    const deaf = new LiveClient({ client, minDelay: 60000 });
    cleanups.push(() => deaf.close());
    cleanups.push(deaf.subscribe(() => {}));
    await waitFor(() => deaf.state === 'open', 'the second socket');
    const d = lastSocket(fake);
    assert.notEqual(d, s);
    fake.hooks.beforeSocketSend = (socket, msg) => !(socket === d && msg.type === 'pong');

    await sleep(3500);
    const pings = s.received.filter((m) => m.type === 'ping').length;
    const pongs = s.sent.filter((m) => m.message.type === 'pong' && !m.dropped).length;
    assert.ok(pings >= 3, `got ${pings} pings in 3.5 s, want at least 3 (WS_KEEPALIVE=1s)`);
    assert.equal(pongs, pings, 'one pong per ping');
    assert.equal(s.closed, null, `the answering socket closed: ${JSON.stringify(s.closed)}`);
    assert.ok(d.closed, 'the socket that sent no pongs is cut off by the server');
    assert.equal(d.closedBy, 'server');

    const t = await pc.create('still live');
    await waitFor(() => changes.some((c) => c.id === t.id), 'the change after the pings');
  });

  it('the session ends while open (4401, logout): one silent re-login, a new socket at once', async () => {
    const { fake, client, live, changes, pc, subscribe } = await setup();
    subscribe();
    await ready(live);
    const old = client.getToken();
    const loginsBefore = fake.logins;

    // Another call with the same token logs that session out.
    const out = await graphql(server.url, old, 'mutation { logout }');
    assert.deepEqual(out.data, { logout: true });

    const first = fake.sockets[0];
    await waitFor(() => first.closed, 'the close');
    assert.equal(first.closed.code, 4401);
    assert.match(first.closed.reason, /session ended/);
    await waitFor(() => fake.sockets.length === 2 && live.synced, 'the new socket');
    assert.equal(fake.logins - loginsBefore, 1, 'exactly one re-login');
    const fresh = client.getToken();
    assert.notEqual(fresh, old);
    assert.equal(fake.storage.get(TOKEN_KEY), fresh);
    const second = fake.sockets[1];
    assert.equal(second.sent[0].message.payload.Authorization, 'Bearer ' + fresh);
    assert.ok(second.at - first.closedAt < 1000, 'reconnected without waiting out a backoff');

    const t = await pc.create('after the re-login');
    await waitFor(() => changes.some((c) => c.kind === 'CREATED' && c.id === t.id), 'the change on the new socket');
    assert.deepEqual(kinds(changes), ['CREATED']);
  });

  it('a token refused at connection_init (4403): re-login, then it connects', async () => {
    const { fake, client, live, subscribe } = await setup();
    fake.storage.set(TOKEN_KEY, 'x'.repeat(43));
    const loginsBefore = fake.logins;
    subscribe();
    await ready(live);
    const [refused, good] = fake.sockets;
    assert.equal(fake.sockets.length, 2);
    assert.equal(refused.closed.code, 4403);
    assert.match(refused.closed.reason, /^INVALID_TOKEN: /);
    assert.equal(fake.logins - loginsBefore, 1);
    assert.equal(good.sent[0].message.payload.Authorization, 'Bearer ' + client.getToken());
    assert.equal(good.received[0].type, 'connection_ack');
  });

  it('the server restarts (1012): reconnects with growing delays, resets the backoff after connecting', async () => {
    const { fake, live, changes, pc, subscribe } = await setup();
    subscribe();
    await ready(live);
    await pc.create('before the restart');
    await waitFor(() => changes.length === 1, 'the first change');

    // Down for 1.2 s: tries at about 75, 150, 300 and 600 ms fail.
    await server.restart(1200);
    const first = fake.sockets[0];
    assert.equal(first.closed.code, 1012, `closed ${JSON.stringify(first.closed)}`);
    await ready(live, 'the socket after the restart');
    const sockets = fake.sockets.slice();
    const failed = sockets.slice(1, -1);
    assert.ok(failed.length >= 1, 'connections were tried while the server was down');
    // Refused (1006) while it was down, or 1012 while it was stopping.
    assert.ok(failed.every((s) => s.closed && [1006, 1012].includes(s.closed.code)), JSON.stringify(failed.map((s) => s.closed)));
    assert.ok(sockets.length < 12, `${sockets.length} sockets: no tight loop`);
    // The waits between tries double (100, 200, 400, 800 ms with this jitter).
    const gaps = sockets.slice(1).map((s, i) => s.at - sockets[i].at);
    for (let i = 2; i < gaps.length && i < 4; i++) {
      assert.ok(gaps[i] > gaps[i - 1] * 1.4, `gaps ${gaps.join(', ')} ms do not grow`);
    }
    // Nothing changed meanwhile: same version, no RESYNC.
    assert.equal(live.version, 1);
    assert.deepEqual(kinds(changes), ['CREATED']);

    // Connected again: the next drop waits minDelay again, not the last delay.
    const n = fake.sockets.length;
    lastSocket(fake).ws.terminate(); // the connection drops (1006)
    await waitFor(() => !live.synced, 'the drop');
    await ready(live, 'the socket after a drop');
    assert.equal(fake.sockets.length, n + 1);
    assert.ok(live.lastDelay <= 100, `waited ${live.lastDelay} ms after a good connection, want the first delay`);

    const t = await pc.create('after the restart');
    await waitFor(() => changes.some((c) => c.id === t.id), 'a change on the new socket');
  });

  it('a change made while the network was down: RESYNC when it is back, with the new version', async () => {
    // A long backoff, so that reconnecting at once on the network event shows.
    const { fake, live, changes, pc, subscribe } = await setup({ minDelay: 5000, maxDelay: 5000 });
    subscribe();
    await ready(live);
    await pc.create('seen live');
    await waitFor(() => changes.length === 1, 'the first change');
    assert.equal(fake.networkListeners.size, 1, 'listening to the network while subscribed');

    fake.setNetwork({ isConnected: false });
    await waitFor(() => live.state === 'waiting', 'the drop');
    const missed = await pc.create('made while offline');
    await pc.update(missed.id, { title: 'renamed while offline' });
    await sleep(200);
    assert.deepEqual(kinds(changes), ['CREATED'], 'nothing while offline');

    const back = Date.now();
    fake.setNetwork({ isConnected: true, networkType: '4g' });
    await ready(live, 'the socket after the network came back');
    assert.ok(lastSocket(fake).at - back < 1000, 'reconnected on the network event, not after the 5 s backoff');
    await waitFor(() => changes.length === 2, 'the RESYNC');
    assert.deepEqual(changes[1], { kind: 'RESYNC', id: null, todo: null, version: 3, totalCount: 2 });
    assert.equal(live.version, 3);

    // Later changes come as events again, above the resynced version.
    const next = await pc.create('after the resync');
    await waitFor(() => changes.length === 3, 'the next change');
    assert.equal(changes[2].kind, 'CREATED');
    assert.equal(changes[2].id, next.id);
    assert.equal(changes[2].version, 4);
  });

  it('pause and resume: no socket while paused, RESYNC on resume; events a loaded list has are dropped', async () => {
    const { fake, live, changes, pc, subscribe } = await setup();
    const stop = subscribe();
    await ready(live);
    live.pause();
    assert.equal(live.state, 'idle');
    await waitFor(() => fake.sockets[0].closed, 'the close');
    assert.deepEqual(fake.sockets[0].closed, { code: 1000, reason: 'client closed' });
    assert.equal(fake.sockets[0].closedBy, 'client');
    await pc.create('while paused');
    await sleep(300);
    assert.equal(fake.sockets.length, 1, 'no reconnect while paused');

    live.resume();
    await ready(live);
    await waitFor(() => changes.length === 1, 'the RESYNC');
    assert.deepEqual(kinds(changes), ['RESYNC']);
    assert.equal(changes[0].version, 1);

    // A page read its list at version 2 (one change ahead of its events):
    // the event of version 2 is in it already.
    live.noteVersion(live.version + 1);
    const inList = await pc.create('in the loaded list');
    const after = await pc.create('after the loaded list');
    await waitFor(() => changes.length === 2, 'the event after the list');
    assert.equal(changes[1].id, after.id);
    assert.ok(!changes.some((c) => c.id === inList.id), 'the event of the loaded version is dropped');

    // The last unsubscribe closes the socket and stops watching the network.
    stop();
    assert.equal(live.state, 'idle');
    assert.equal(fake.networkListeners.size, 0);
    await waitFor(() => lastSocket(fake).closed, 'the close');
    assert.equal(lastSocket(fake).closed.code, 1000);
  });

  it('too many sockets (4429): waits tooManyDelay, not a tight loop, then connects', async () => {
    const { fake, live, pc, subscribe } = await setup({ tooManyDelay: 1500 });
    // The pc holds every socket this user may have.
    const held = [];
    for (let i = 0; i < MAX_SOCKETS; i++) {
      const ws = new WebSocket(live.url, [SUBPROTOCOL]);
      held.push(ws);
      await new Promise((resolve, reject) => {
        ws.once('error', reject);
        ws.once('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: 'Bearer ' + pc.token } })));
        ws.on('message', (m) => {
          const msg = JSON.parse(m.toString());
          if (msg.type === 'connection_ack') resolve();
          if (msg.type === 'ping') ws.send('{"type":"pong"}');
        });
      });
    }
    cleanups.push(() => held.forEach((ws) => ws.terminate()));

    subscribe();
    await waitFor(() => fake.sockets[0].closed, 'the refusal');
    assert.equal(fake.sockets[0].closed.code, 4429);
    assert.match(fake.sockets[0].closed.reason, /too many sockets/);
    assert.equal(live.state, 'waiting');
    assert.ok(live.lastDelay >= 750, `waits ${live.lastDelay} ms, want at least half of tooManyDelay`);
    // Not even a resume (onShow) or the network skips the hold-off.
    live.resume();
    fake.setNetwork({ isConnected: true });
    await sleep(500);
    assert.equal(fake.sockets.length, 1, 'no new socket during the hold-off');

    held.forEach((ws) => ws.close());
    await ready(live, 'the socket after the hold-off');
    assert.equal(fake.sockets.length, 2);
  });
});
