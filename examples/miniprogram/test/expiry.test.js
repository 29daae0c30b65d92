// Session expiry for real: a wxtodo whose sessions last 2 seconds after
// their last use. The client signs in again by itself, once, and the call
// succeeds with a new token.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { startServer, sleep } = require('./helpers/server');
const { createFakeWx, userCode } = require('./helpers/fake-wx');
const { GraphQLClient } = require('../build/api/graphql.js');
const { TodoApi } = require('../build/api/todos.js');

const TOKEN_KEY = 'wxtodo.token';
const TTL_MS = 2000;

describe('token expiry', () => {
  let server;

  before(async () => {
    server = await startServer({ SESSION_TTL: `${TTL_MS / 1000}s` });
  });

  after(async () => {
    if (server) {
      await server.stop();
    }
  });

  it('an expired token: one silent re-login, the call succeeds, new token stored', async () => {
    const fake = createFakeWx({ code: userCode('expiry') });
    globalThis.wx = fake.wx;
    const client = new GraphQLClient({ url: server.url });
    const api = new TodoApi(client);

    const first = await client.login();
    const todo = await api.create('survives the re-login');
    assert.equal(fake.logins, 1);

    await sleep(TTL_MS + 600);
    fake.requests.length = 0;

    const page = await api.list();
    assert.deepEqual(page.todos.map((t) => t.id), [todo.id], 'same user after the re-login');
    assert.equal(fake.logins, 2, 'exactly one re-login');
    const [expired, login, retry] = fake.requests;
    assert.equal(fake.requests.length, 3);
    assert.deepEqual(expired.response.errors[0].extensions, { code: 'UNAUTHENTICATED', reason: 'EXPIRED_TOKEN' });
    assert.equal(login.response.data.login.isNewUser, false);
    assert.equal(login.response.data.login.user.id, first.user.id);

    const token = fake.storage.get(TOKEN_KEY);
    assert.notEqual(token, first.token);
    assert.equal(token, login.response.data.login.token);
    assert.equal(retry.header.Authorization, 'Bearer ' + token);

    // The new session works without another sign-in.
    await api.me();
    assert.equal(fake.logins, 2);
  });
});
