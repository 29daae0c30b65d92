// Several mini-programs on one wxtodo (WECHAT_APPS): the client names its
// app at login (ClientOptions.appId), and a person who signs in from two
// apps is one user, with one todo list.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { startServer } = require('./helpers/server');
const { createFakeWx, userCode } = require('./helpers/fake-wx');
const { GraphQLClient, GraphQLClientError } = require('../build/api/graphql.js');
const { TodoApi } = require('../build/api/todos.js');

describe('a mini-program client on a server of several apps', () => {
  let server;

  before(async () => {
    // Development mode with two apps: the mock gives a code an openid per
    // app and one unionid.
    server = await startServer({ WECHAT_APPS: 'wxshop,wxclub' });
  });

  after(async () => {
    if (server) {
      await server.stop();
    }
  });

  function client(code, appId) {
    const fake = createFakeWx({ code });
    globalThis.wx = fake.wx;
    const c = new GraphQLClient({ url: server.url, appId, tokenKey: 'wxtodo.token.' + appId });
    return { fake, client: c, api: new TodoApi(c) };
  }

  it('one person from both apps: one user, one list', async () => {
    const code = userCode('two-apps');
    const shop = client(code, 'wxshop');
    const inShop = await shop.client.login();
    assert.equal(shop.fake.requests[0].body.variables.input.appId, 'wxshop');
    await shop.api.create('from the shop');

    const club = client(code, 'wxclub');
    const inClub = await club.client.login();
    assert.equal(inClub.user.id, inShop.user.id);
    assert.equal(inClub.isNewUser, false);
    const page = await club.api.list({ first: 10 });
    assert.deepEqual(page.todos.map((t) => t.title), ['from the shop']);
  });

  it('a login without its app is BAD_USER_INPUT on appId', async () => {
    const { client: c } = client(userCode('no-app'), '');
    const err = await c.login().then(() => assert.fail('login without appId succeeded'), (e) => e);
    assert.ok(err instanceof GraphQLClientError, String(err));
    assert.equal(err.code, 'BAD_USER_INPUT');
    assert.equal(err.field, 'appId');
  });
});
