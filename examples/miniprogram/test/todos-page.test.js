// The todo page itself (miniprogram/pages/todos, compiled to build/ with its
// .wxml, .wxss and .json) in miniprogram-simulate, WeChat's component test
// tool, on jsdom, against a real wxtodo: it renders the list, a tap ticks a
// todo, and what another device of the user changes shows up without a
// pull. The page runs as it is, with the app's own client and live client
// (build/api/index.js) on the fake wx.
//
// miniprogram-simulate renders components, not a page runtime: this test
// calls the page lifetimes (onLoad, onShow, onHide) the way WeChat does.
// Like live.test.js, wxtodo runs against the fake WeChat, so that the page
// (the "phone") and the test's other device (the "pc") are one user with
// two sessions.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { JSDOM } = require('jsdom');

const { startServer, sleep } = require('./helpers/server');
const { createFakeWx } = require('./helpers/fake-wx');
const { startFakeWeChat, deviceCodes } = require('./helpers/wechat');
const { signIn, waitFor } = require('./helpers/device');

const BUILD = path.join(__dirname, '..', 'build');

// WeChat's own template compiler (miniprogram-compiler's wcc binary) where
// it runs: x86-64 Linux, macOS, Windows. Elsewhere (Linux on ARM) the
// tool's JavaScript compiler.
const COMPILER = process.platform === 'linux' && process.arch !== 'x64' ? 'simulate' : 'official';

describe('todo page in miniprogram-simulate against wxtodo', () => {
  let wechat;
  let server;
  let dom;
  let fake;
  let pc;
  let page;
  let live;
  let milk;
  let bread;

  before(async () => {
    wechat = await startFakeWeChat();
    server = await startServer(wechat.env);

    // The DOM the tool renders into.
    dom = new JSDOM('<!doctype html><html><head></head><body></body></html>', { pretendToBeVisual: true });
    globalThis.window = dom.window;
    globalThis.document = dom.window.document;
    globalThis.CustomEvent = dom.window.CustomEvent;
    globalThis.TouchEvent = dom.window.TouchEvent;

    // The fake wx goes in before the tool loads: it lays its own mock of
    // the wx API under what the global has (its definition.js), so wx is
    // the tool's (showToast, showModal, stopPullDownRefresh...) with the
    // fake's request, login, storage, connectSocket and network events.
    const user = `page-${process.pid}`;
    fake = createFakeWx({ code: deviceCodes(user, 'phone') });
    globalThis.wx = fake.wx;
    const simulate = require('miniprogram-simulate');
    assert.equal(globalThis.wx.request, fake.wx.request);
    assert.equal(globalThis.wx.connectSocket, fake.wx.connectSocket);

    // The app's config points at this server (api/index.js reads it when
    // the page loads it).
    const { ENDPOINTS } = require(path.join(BUILD, 'config.js'));
    for (const env of Object.keys(ENDPOINTS)) {
      ENDPOINTS[env] = server.url;
    }

    // Made on the pc before the page opens on the phone.
    pc = await signIn(server.url, `${user}@pc#1`);
    milk = await pc.create('buy milk');
    bread = await pc.create('buy bread');

    const id = simulate.load(path.join(BUILD, 'pages/todos/todos'), { rootPath: BUILD, compiler: COMPILER });
    page = simulate.render(id);
    page.attach(document.body);
    // The very modules the page runs on (require's cache).
    ({ live } = require(path.join(BUILD, 'api/index.js')));
    page.instance.onLoad({});
    page.instance.onShow();
  });

  after(async () => {
    if (page) {
      page.instance.onUnload();
      page.detach();
    }
    if (live) {
      live.close();
    }
    if (server) {
      await server.stop();
    }
    if (wechat) {
      await wechat.stop();
    }
    if (dom) {
      dom.window.close();
    }
  });

  const titles = () => page.querySelectorAll('.title').map((c) => c.dom.textContent);
  const summary = () => page.querySelector('.summary').dom.textContent;
  /** The todos queries the page sent: a list it loaded. */
  const listLoads = () => fake.requests.filter((r) => r.body && /query Todos\b/.test(r.body.query)).length;
  const sameList = (want) => () => JSON.stringify(titles()) === JSON.stringify(want);

  /** A tap as a finger makes it: touchstart, touchend (the tool turns them into tap). */
  async function tap(comp) {
    comp.dispatchEvent('touchstart');
    await sleep(10);
    comp.dispatchEvent('touchend');
  }

  it('renders the list the server has, newest first, and goes live', async () => {
    await waitFor(sameList(['buy bread', 'buy milk']), 'the list');
    assert.match(summary(), /共 2 项/);
    assert.equal(page.querySelector('.footer').dom.textContent.trim(), '没有更多了');
    assert.equal(listLoads(), 1);
    await waitFor(() => live.synced, 'the live socket');
    assert.deepEqual(fake.sockets[0].protocols, ['graphql-transport-ws']);
  });

  it('a tap on the tick toggles the todo, on the server too', async () => {
    await waitFor(() => titles().includes('buy milk'), 'the list');
    const i = titles().indexOf('buy milk');
    const row = () => page.querySelectorAll('.todo')[i];
    assert.doesNotMatch(row().dom.className, /done/);

    await tap(page.querySelectorAll('.tick')[i]);
    await waitFor(() => /\bmain--done\b/.test(row().dom.className), 'the ticked row');
    assert.equal((await pc.get(milk.id)).done, true);
    assert.equal(page.data.todos[i].done, true);

    await tap(page.querySelectorAll('.tick')[i]);
    await waitFor(() => !/done/.test(row().dom.className), 'the unticked row');
    assert.equal((await pc.get(milk.id)).done, false);
  });

  it('a todo created on another device appears without a pull', async () => {
    const loads = listLoads();
    const t = await pc.create('from the pc');
    await waitFor(sameList(['from the pc', 'buy bread', 'buy milk']), 'the new todo on top');
    assert.match(summary(), /共 3 项/);
    assert.equal(page.data.todos[0].id, t.id);
    assert.equal(listLoads(), loads, 'no list query: it came over the socket');
  });

  it('a rename and a delete on another device show in place', async () => {
    const loads = listLoads();
    await pc.update(bread.id, { title: 'buy rye bread', done: true });
    await waitFor(sameList(['from the pc', 'buy rye bread', 'buy milk']), 'the rename in place');
    assert.match(page.querySelectorAll('.todo')[1].dom.className, /\bmain--done\b/);
    await pc.remove(milk.id);
    await waitFor(sameList(['from the pc', 'buy rye bread']), 'the delete');
    assert.match(summary(), /共 2 项/);
    assert.equal(listLoads(), loads);
  });

  it('hidden, it holds no socket; shown again, it catches up by version', async () => {
    page.instance.onHide();
    assert.equal(live.state, 'idle');
    const socket = fake.sockets[fake.sockets.length - 1];
    await waitFor(() => socket.closed, 'the socket to close');
    assert.equal(socket.closed.code, 1000);

    const loads = listLoads();
    await pc.create('while hidden');
    await sleep(300);
    assert.deepEqual(titles(), ['from the pc', 'buy rye bread'], 'no change while hidden');

    page.instance.onShow();
    await waitFor(sameList(['while hidden', 'from the pc', 'buy rye bread']), 'the list after the resync');
    assert.equal(listLoads(), loads + 1, 'one reload, for the RESYNC');
    assert.match(summary(), /共 3 项/);
  });
});
