// The wxtodo playground: GraphiQL on the page's endpoint, its Headers pane
// open (the token goes there), and in development mode a button that
// signs in and fills the Authorization header.
(function () {
  'use strict';
  var body = document.body;
  var endpoint = body.dataset.endpoint;
  var signInCode = body.dataset.signinCode;
  // With several development apps, a login names its app.
  var signInApp = body.dataset.signinApp || null;
  // Subscriptions go over a WebSocket to the same endpoint (graphql-ws,
  // bundled in GraphiQL); the Headers pane's Authorization travels in
  // connection_init's payload.
  var socketURL = (window.location.protocol === 'https:' ? 'wss://' : 'ws://') + window.location.host + endpoint;
  var fetcher = GraphiQL.createFetcher({ url: endpoint, subscriptionUrl: socketURL });
  var params = new URLSearchParams(window.location.search);

  var defaultQuery = [
    '# Welcome to the wxtodo playground.',
    '#',
    '# 1. Sign in: run SignIn, or use the button',
    '#    above in development mode.',
    '# 2. Put the token in the Headers pane below:',
    '#    {"Authorization": "Bearer <token>"}',
    '# 3. Run AddTodo, then MyTodos. Errors carry',
    '#    extensions.code, e.g. UNAUTHENTICATED.',
    '# 4. Run Live, then AddTodo in another tab',
    '#    (or device): the change arrives at once.',
    '',
    'mutation SignIn {',
    '  login(input: {code: "' + (signInCode || 'alice') + '"' + (signInApp ? ', appId: "' + signInApp + '"' : '') + '}) { token expiresAt user { id nickname } }',
    '}',
    '',
    'mutation AddTodo {',
    '  createTodo(input: {title: "Try wxtodo"}) { id title done createdAt }',
    '}',
    '',
    'query MyTodos {',
    '  todos(first: 20) { totalCount version edges { cursor node { id title done } } pageInfo { hasNextPage endCursor } }',
    '}',
    '',
    'subscription Live {',
    '  todoChanged { kind id version totalCount todo { id title done } }',
    '}',
    ''
  ].join('\n');

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  var current = { query: params.get('query') || undefined, headers: undefined, generation: 0 };

  function render() {
    current.generation++;
    root.render(React.createElement(GraphiQL, {
      key: current.generation, // a new key applies new initial headers
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      query: current.query,
      headers: current.headers,
      isHeadersEditorEnabled: true,
      // Kept across reloads only in development mode: elsewhere a crafted
      // ?query= link must not run with a token saved earlier.
      shouldPersistHeaders: body.dataset.persistHeaders === 'true',
      defaultEditorToolsVisibility: 'headers',
      onEditQuery: function (q) { current.query = q; },
      onEditHeaders: function (h) { current.headers = h; }
    }));
  }
  render();

  var button = document.getElementById('signin');
  if (!button) return;
  var who = document.getElementById('who');
  button.addEventListener('click', function () {
    button.disabled = true;
    who.textContent = 'Signing in…';
    fetch(endpoint, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        operationName: 'SignIn',
        query: 'mutation SignIn($code: String!, $appId: String) { login(input: {code: $code, appId: $appId}) { token user { id nickname } } }',
        variables: { code: signInCode, appId: signInApp }
      })
    }).then(function (resp) { return resp.json(); }).then(function (result) {
      if (result.errors && result.errors.length) {
        var e = result.errors[0];
        throw new Error(e.message + (e.extensions && e.extensions.code ? ' (' + e.extensions.code + ')' : ''));
      }
      var login = result.data.login;
      current.headers = JSON.stringify({ Authorization: 'Bearer ' + login.token }, null, 2);
      who.textContent = 'Signed in as ' + signInCode + ' (user ' + login.user.id + '); the token is in the Headers pane.';
      render();
    }).catch(function (err) {
      who.textContent = 'Sign-in failed: ' + err.message;
    }).then(function () { button.disabled = false; });
  });
})();
