// "Another device" of a user in the tests: GraphQL over plain HTTP (Node's
// fetch) with a session of its own, beside the mini-program client under
// test, which goes through the fake `wx`.
'use strict';

/** Sends one GraphQL request and returns the parsed body ({ data, errors }). */
async function graphql(url, token, query, variables = {}) {
  const header = { 'content-type': 'application/json' };
  if (token) {
    header.Authorization = 'Bearer ' + token;
  }
  const res = await fetch(url, { method: 'POST', headers: header, body: JSON.stringify({ query, variables }) });
  return res.json();
}

/** data of a request that must succeed; an error names the first GraphQL error. */
async function mustData(url, token, query, variables) {
  const body = await graphql(url, token, query, variables);
  if (body.errors && body.errors.length > 0) {
    const e = body.errors[0];
    throw new Error(`${e.message} (${JSON.stringify(e.extensions)}) from ${query}`);
  }
  return body.data;
}

const TODO = 'id title done createdAt updatedAt';

/**
 * Signs in with code (for the fake WeChat, "<user>@<device>#<n>": see
 * wechat.js) and returns the device: its token and user ID, and the
 * writes a test makes there.
 */
async function signIn(url, code) {
  const data = await mustData(url, '', 'mutation ($input: LoginInput!) { login(input: $input) { token user { id } } }', { input: { code } });
  const token = data.login.token;
  const run = (query, variables) => mustData(url, token, query, variables);
  return {
    token,
    userId: data.login.user.id,
    graphql: (query, variables) => graphql(url, token, query, variables),
    create: async (title) => (await run(`mutation ($t: String!) { createTodo(input: { title: $t }) { ${TODO} } }`, { t: title })).createTodo,
    update: async (id, input) => (await run(`mutation ($id: ID!, $in: UpdateTodoInput!) { updateTodo(id: $id, input: $in) { ${TODO} } }`, { id, in: input })).updateTodo,
    remove: async (id) => (await run('mutation ($id: ID!) { deleteTodo(id: $id) }', { id })).deleteTodo,
    get: async (id) => (await run(`query ($id: ID!) { todo(id: $id) { ${TODO} } }`, { id })).todo,
    list: async () => (await run(`{ todos(first: 100) { edges { node { ${TODO} } } totalCount version } }`)).todos,
  };
}

/** Polls pred every 20 ms until it returns a truthy value, which it returns; fails after timeout ms. */
async function waitFor(pred, what, timeout = 5000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await pred();
    if (v) {
      return v;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

module.exports = { graphql, mustData, signIn, waitFor };
