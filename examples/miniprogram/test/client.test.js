// The mini-program's API client (miniprogram/api, compiled to build/ by
// `npm run build`) against a real wxtodo, through a fake `wx` global.
'use strict';

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { startServer } = require('./helpers/server');
const { createFakeWx, userCode } = require('./helpers/fake-wx');
const { GraphQLClient, GraphQLClientError, ClientCode } = require('../build/api/graphql.js');
const { TodoApi, newClientMutationId } = require('../build/api/todos.js');
const { CreateTodoDocument, MeDocument } = require('../build/api/generated/operations.js');

const TOKEN_KEY = 'wxtodo.token';

describe('mini-program API client against wxtodo', () => {
  let server;

  before(async () => {
    server = await startServer();
  });

  after(async () => {
    if (server) {
      await server.stop();
    }
  });

  /** A fake wx for a user of its own, installed as the global, and a client. */
  function setup(name, code = userCode(name)) {
    const fake = createFakeWx({ code });
    globalThis.wx = fake.wx;
    const client = new GraphQLClient({ url: server.url });
    return { fake, client, api: new TodoApi(client) };
  }

  /** The GraphQL operation names the client sent, in order. */
  function sent(fake) {
    return fake.requests.map((r) => /(?:query|mutation) (\w+)/.exec(r.body.query)[1]);
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

  it('first sign-in: wx.login, login, token stored and sent as Bearer', async () => {
    const code = userCode('first');
    const { fake, client, api } = setup('first', code);
    assert.equal(client.getToken(), '');

    const res = await client.login();
    assert.equal(fake.logins, 1);
    assert.equal(res.isNewUser, true);
    assert.match(res.token, /^\S{20,}$/);
    assert.equal(fake.storage.get(TOKEN_KEY), res.token);
    assert.ok(!Number.isNaN(Date.parse(res.expiresAt)));
    // The code went as a variable, without a token.
    assert.deepEqual(fake.requests[0].body.variables, { input: { code } });
    assert.equal(fake.requests[0].header.Authorization, undefined);

    const me = await api.me();
    assert.equal(me.id, res.user.id);
    assert.equal(fake.requests[1].header.Authorization, 'Bearer ' + res.token);
    assert.equal(fake.requests[1].header['content-type'], 'application/json');
    assert.equal(fake.requests[1].method, 'POST');
    assert.equal(fake.logins, 1);

    // The same WeChat user on another device: not new, same user.
    const again = setup('first', code);
    const res2 = await again.client.login();
    assert.equal(res2.isNewUser, false);
    assert.equal(res2.user.id, res.user.id);
    assert.notEqual(res2.token, res.token);
  });

  it('a call with no token stored signs in first, once', async () => {
    const { fake, api } = setup('notoken');
    const page = await api.list();
    assert.deepEqual(page, { todos: [], endCursor: null, hasNextPage: false, totalCount: 0, version: 0 });
    assert.equal(fake.logins, 1);
    assert.deepEqual(sent(fake), ['Login', 'Todos']);
    assert.ok(fake.storage.get(TOKEN_KEY));

    // Calls made together with no token share one sign-in.
    const other = setup('notoken-together');
    const [me, list] = await Promise.all([other.api.me(), other.api.list(), other.api.me()]);
    assert.equal(other.fake.logins, 1);
    assert.deepEqual(sent(other.fake), ['Login', 'Me', 'Todos', 'Me']);
    assert.ok(me.id);
    assert.equal(list.totalCount, 0);
  });

  it('a rejected token: one silent re-login, one retry, new token stored', async () => {
    const { fake, client, api } = setup('badtoken');
    await client.login();
    const user = await api.me();
    fake.storage.set(TOKEN_KEY, 'x'.repeat(43)); // revoked, forged, from another server...
    fake.logins = 0;
    fake.requests.length = 0;

    const me = await api.me();
    assert.equal(me.id, user.id);
    assert.equal(fake.logins, 1);
    assert.deepEqual(sent(fake), ['Me', 'Login', 'Me']);
    assert.equal(fake.requests[0].response.errors[0].extensions.code, 'UNAUTHENTICATED');
    assert.equal(fake.requests[0].response.errors[0].extensions.reason, 'INVALID_TOKEN');
    const token = fake.storage.get(TOKEN_KEY);
    assert.notEqual(token, 'x'.repeat(43));
    assert.equal(fake.requests[2].header.Authorization, 'Bearer ' + token);
  });

  it('calls that hit UNAUTHENTICATED together share one re-login', async () => {
    const { fake, client, api } = setup('concurrent');
    await client.login();
    await api.create('one');
    fake.storage.set(TOKEN_KEY, 'y'.repeat(43));
    fake.logins = 0;
    fake.requests.length = 0;

    const [me1, page, small, me2, two] = await Promise.all([
      api.me(),
      api.list(),
      api.list({ first: 1 }),
      api.me(),
      api.create('two'),
    ]);
    assert.equal(fake.logins, 1);
    assert.equal(me1.id, me2.id);
    assert.ok(page.todos.some((t) => t.title === 'one'));
    assert.equal(small.todos.length, 1);
    assert.equal(two.title, 'two');
    const names = sent(fake);
    assert.equal(names.length, 11, names.join(' ')); // 5 rejected, 1 login, 5 retried
    assert.equal(names.filter((n) => n === 'Login').length, 1);
    assert.equal((await api.list()).totalCount, 2);
  });

  it('still UNAUTHENTICATED after the re-login: the error surfaces, no second re-login', async () => {
    const { fake, client, api } = setup('stripped');
    await client.login();
    fake.logins = 0;
    fake.requests.length = 0;
    // Something on the way drops the Authorization header.
    fake.hooks.beforeSend = (entry) => {
      delete entry.header.Authorization;
    };
    await rejectsWith(api.me(), { code: 'UNAUTHENTICATED', reason: 'MISSING_TOKEN', statusCode: 200 });
    assert.equal(fake.logins, 1);
    assert.deepEqual(sent(fake), ['Me', 'Login', 'Me']);
  });

  it('create, list, tick, edit and delete', async () => {
    const { api } = setup('crud');
    const milk = await api.create('  buy milk  ');
    assert.equal(milk.title, 'buy milk');
    assert.equal(milk.done, false);
    const bread = await api.create('buy bread');

    let page = await api.list();
    assert.deepEqual(page.todos.map((t) => t.title), ['buy bread', 'buy milk']);
    assert.equal(page.totalCount, 2);

    const ticked = await api.setDone(milk.id, true);
    assert.equal(ticked.id, milk.id);
    assert.equal(ticked.done, true);
    assert.equal(ticked.title, 'buy milk');

    const renamed = await api.rename(milk.id, 'buy oat milk');
    assert.equal(renamed.title, 'buy oat milk');
    assert.equal(renamed.done, true);
    assert.ok(Date.parse(renamed.updatedAt) >= Date.parse(milk.updatedAt));

    page = await api.list({ filter: { done: true } });
    assert.deepEqual(page.todos.map((t) => t.id), [milk.id]);
    page = await api.list({ filter: { done: false } });
    assert.deepEqual(page.todos.map((t) => t.id), [bread.id]);

    assert.equal(await api.remove(milk.id), milk.id);
    assert.equal(await api.get(milk.id), null);
    page = await api.list();
    assert.deepEqual(page.todos.map((t) => t.title), ['buy bread']);
    assert.equal(page.totalCount, 1);
  });

  it('pages by the after cursor to the end', async () => {
    const { api } = setup('paging');
    const titles = [];
    for (let i = 1; i <= 7; i++) {
      titles.push(`todo ${i}`);
      await api.create(`todo ${i}`);
    }
    const seen = [];
    const sizes = [];
    let after = null;
    for (let guard = 0; guard < 10; guard++) {
      const page = await api.list({ first: 3, after });
      sizes.push(page.todos.length);
      seen.push(...page.todos.map((t) => t.title));
      assert.equal(page.totalCount, 7);
      if (!page.hasNextPage) {
        break;
      }
      assert.ok(page.endCursor);
      after = page.endCursor;
    }
    assert.deepEqual(sizes, [3, 3, 1]);
    assert.deepEqual(seen, titles.slice().reverse());

    // A todo added while paging shows on top, not on a later page.
    const first = await api.list({ first: 3 });
    await api.create('todo 8');
    const second = await api.list({ first: 3, after: first.endCursor });
    assert.deepEqual(second.todos.map((t) => t.title), ['todo 4', 'todo 3', 'todo 2']);
  });

  it('errors carry their code, reason and field', async () => {
    const { api } = setup('errors');
    await rejectsWith(api.create('   '), { code: 'BAD_USER_INPUT', field: 'title' });
    await rejectsWith(api.create('x'.repeat(201)), { code: 'BAD_USER_INPUT', field: 'title' });
    await rejectsWith(api.list({ first: 0 }), { code: 'BAD_USER_INPUT', field: 'first' });
    await rejectsWith(api.list({ after: 'not a cursor' }), { code: 'BAD_USER_INPUT', field: 'after' });
    await rejectsWith(api.setDone('999999', true), { code: 'NOT_FOUND' });
    await rejectsWith(api.remove('999999'), { code: 'NOT_FOUND' });

    // Someone else's todo is NOT_FOUND too.
    const theirs = await api.create('mine');
    const other = setup('errors-other');
    await rejectsWith(other.api.rename(theirs.id, 'yours now'), { code: 'NOT_FOUND' });
    await rejectsWith(other.api.remove(theirs.id), { code: 'NOT_FOUND' });
    assert.equal(await other.api.get(theirs.id), null);

    // A document the schema does not allow: HTTP 422 with a GraphQL error.
    const err = await rejectsWith(other.client.request({ toString: () => '{ nope }' }), {
      code: 'GRAPHQL_VALIDATION_FAILED',
      statusCode: 422,
    });
    assert.match(err.requestId, /\S+/);
    assert.equal(err.errors.length, 1);
  });

  it('createTodo sends a clientMutationId: a retry after a lost answer creates one todo', async () => {
    const { fake, api } = setup('idempotent');
    await api.list();
    fake.requests.length = 0;
    // The first answer to createTodo is lost after the server has created it.
    let dropped = 0;
    fake.hooks.dropResponse = (entry) => /createTodo/.test(entry.body.query) && dropped++ === 0;

    const todo = await api.create('only once');
    assert.equal(dropped, 2);
    const creates = fake.requests.filter((r) => /createTodo/.test(r.body.query));
    assert.equal(creates.length, 2);
    assert.equal(creates[0].dropped, true);
    const id0 = creates[0].body.variables.input.clientMutationId;
    assert.ok(id0 && id0.length <= 64);
    assert.equal(creates[1].body.variables.input.clientMutationId, id0);
    assert.equal(creates[0].response.data.createTodo.id, todo.id);

    const page = await api.list();
    assert.deepEqual(page.todos.map((t) => t.title), ['only once']);

    // Each create gets its own id; the same id returns the first todo.
    const a = await api.create('a');
    const b = await api.create('b');
    assert.notEqual(a.id, b.id);
    const key = newClientMutationId();
    const c1 = await api.create('c', key);
    const c2 = await api.create('c again', key);
    assert.equal(c2.id, c1.id);
    assert.equal(c2.title, 'c');
    assert.equal((await api.list()).totalCount, 4);
  });

  it('createTodo keeps its clientMutationId across the re-login retry', async () => {
    const { fake, client, api } = setup('relogin-create');
    await client.login();
    fake.storage.set(TOKEN_KEY, 'z'.repeat(43));
    fake.requests.length = 0;
    const todo = await api.create('after re-login');
    assert.deepEqual(sent(fake), ['CreateTodo', 'Login', 'CreateTodo']);
    const [first, , retry] = fake.requests;
    assert.equal(first.response.errors[0].extensions.code, 'UNAUTHENTICATED');
    assert.equal(retry.body.variables.input.clientMutationId, first.body.variables.input.clientMutationId);
    assert.equal(retry.response.data.createTodo.id, todo.id);
  });

  it('network failures are NETWORK_ERROR; wx.login failures are WX_LOGIN_FAILED', async () => {
    const { fake, client } = setup('network');
    fake.hooks.loginFails = true;
    await rejectsWith(client.login(), { code: ClientCode.WX_LOGIN_FAILED });
    assert.equal(client.getToken(), '');

    // Nothing listens on port 9 (discard) here: the connection is refused.
    const closed = new GraphQLClient({ url: 'http://127.0.0.1:9/query', timeout: 2000 });
    fake.storage.set(TOKEN_KEY, 'w'.repeat(43));
    const before = fake.requests.length;
    const offline = new TodoApi(closed);
    await rejectsWith(offline.me(), { code: 'NETWORK_ERROR' });
    // A query is sent once more after a network failure...
    assert.equal(fake.requests.length - before, 2);
    // ...a write that is not safe to repeat is not (deleteTodo), and neither
    // is a bare request.
    const before2 = fake.requests.length;
    await rejectsWith(offline.remove('1'), { code: 'NETWORK_ERROR' });
    await rejectsWith(closed.request(MeDocument), { code: 'NETWORK_ERROR' });
    assert.equal(fake.requests.length - before2, 2);
  });

  it('logout revokes the session and forgets the token; the next call signs in again', async () => {
    const { fake, client, api } = setup('logout');
    await client.login();
    const me = await api.me();
    const old = client.getToken();
    await client.logout();
    assert.equal(client.getToken(), '');
    assert.equal(fake.storage.has(TOKEN_KEY), false);

    // The old token is dead on the server.
    fake.storage.set(TOKEN_KEY, old);
    fake.requests.length = 0;
    fake.logins = 0;
    const again = await api.me();
    assert.equal(again.id, me.id);
    assert.equal(fake.logins, 1);
    assert.equal(fake.requests[0].response.errors[0].extensions.reason, 'INVALID_TOKEN');

    // Logging out with no token is a no-op.
    fake.storage.delete(TOKEN_KEY);
    await client.logout();
  });

  it('the generated documents are what the client sends', async () => {
    const { fake, api } = setup('documents');
    await api.create('doc');
    const req = fake.requests.find((r) => /createTodo/.test(r.body.query));
    assert.equal(req.body.query, CreateTodoDocument.toString());
    assert.match(req.body.query, /fragment TodoFields on Todo/);
  });
});
