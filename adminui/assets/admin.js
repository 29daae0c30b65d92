// The wxtodo admin page: GraphQL over fetch to /query with the operator
// token from this tab's session storage. Everything shown is set as text,
// never as HTML: a nickname is a user's to choose.
(function () {
  'use strict';

  var TOKEN_KEY = 'wxtodo.admin.token';
  var $ = function (id) { return document.getElementById(id); };
  var state = { usersSearch: null, usersAfter: null, auditAfter: null, userId: null, seq: { users: 0, user: 0, audit: 0 } };

  // latest numbers a list's requests, so that an answer that comes after a
  // newer request's (a search typed while the first page loads) is dropped.
  function latest(list) {
    var n = ++state.seq[list];
    return function () { return state.seq[list] === n; };
  }

  function status(text, isError) {
    var s = $('status');
    s.textContent = text || '';
    s.className = isError ? 'error' : '';
  }

  function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }

  // gql sends one operation and resolves with its data; a GraphQL error
  // rejects with a message that carries its code.
  function gql(query, variables) {
    return fetch('/query', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Authorization': 'Bearer ' + token() },
      body: JSON.stringify({ query: query, variables: variables || {} }),
      credentials: 'omit',
      referrerPolicy: 'no-referrer'
    }).then(function (res) { return res.json(); }).then(function (body) {
      if (body.errors && body.errors.length) {
        var e = body.errors[0];
        var code = (e.extensions && e.extensions.code) || 'ERROR';
        var err = new Error(code + ': ' + e.message);
        err.code = code;
        throw err;
      }
      return body.data;
    });
  }

  function fail(err) {
    status(err.message, true);
    if (err.code === 'UNAUTHENTICATED' || (err.code === 'FORBIDDEN' && !state.signedIn)) {
      signOut();
    }
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text == null ? '' : String(text);
    if (cls) { td.className = cls; }
    tr.appendChild(td);
  }

  function when(t) { return t ? new Date(t).toLocaleString() : '—'; }

  // Sign in and out.

  function signedIn() {
    state.signedIn = true;
    $('signin').hidden = true;
    $('app').hidden = false;
    $('signout').hidden = false;
    $('who').textContent = 'Signed in with an operator token';
    searchUsers(false, true);
    loadAudit(false);
  }

  function signOut() {
    state.signedIn = false;
    sessionStorage.removeItem(TOKEN_KEY);
    $('signin').hidden = false;
    $('app').hidden = true;
    $('signout').hidden = true;
    $('who').textContent = '';
  }

  $('signin-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    // Any admin field tells whether the token is an operator's.
    gql('query { adminAudit(first: 1) { edges { cursor } } }').then(function () {
      status('');
      signedIn();
    }, fail);
  });
  $('signout').addEventListener('click', function () { signOut(); status('Signed out'); });

  // Users.

  var USER_FIELDS = 'id nickname createdAt disabled disabledReason todoCount phoneNumber';

  // searchUsers loads the users' first page (or, more, the next); quiet
  // keeps the status line for what an action said.
  function searchUsers(more, quiet) {
    // More pages continue the search they belong to, whatever the box says now.
    if (!more) { state.usersSearch = $('search').value.trim() || null; }
    var vars = { search: state.usersSearch, first: 20, after: more ? state.usersAfter : null };
    var current = latest('users');
    gql('query($search: String, $first: Int, $after: String) { adminUsers(search: $search, first: $first, after: $after) { ' +
      'edges { cursor node { ' + USER_FIELDS + ' } } pageInfo { hasNextPage endCursor } } }', vars).then(function (d) {
      if (!current()) { return; }
      var body = $('user-list').tBodies[0];
      if (!more) { body.textContent = ''; }
      d.adminUsers.edges.forEach(function (e) {
        var u = e.node;
        var tr = document.createElement('tr');
        tr.className = 'pick';
        tr.dataset.id = u.id;
        cell(tr, u.id);
        cell(tr, u.nickname || '(no nickname)');
        cell(tr, when(u.createdAt));
        cell(tr, u.todoCount);
        cell(tr, u.disabled ? 'disabled' : 'active', u.disabled ? 'disabled' : '');
        tr.addEventListener('click', function () { openUser(u.id); });
        body.appendChild(tr);
      });
      state.usersAfter = d.adminUsers.pageInfo.endCursor;
      $('more-users').hidden = !d.adminUsers.pageInfo.hasNextPage;
      if (!quiet) { status(body.rows.length + ' users'); }
    }, fail);
  }
  $('search-form').addEventListener('submit', function (ev) { ev.preventDefault(); searchUsers(false); });
  $('more-users').addEventListener('click', function () { searchUsers(true); });

  function openUser(id) {
    var current = latest('user');
    gql('query($id: ID!) { adminUser(id: $id) { ' + USER_FIELDS + ' sessions { id createdAt lastUsedAt expiresAt } } }', { id: id })
      .then(function (d) {
        if (!current()) { return; }
        var u = d.adminUser;
        if (!u) { status('No user ' + id, true); return; }
        state.userId = u.id;
        $('user').hidden = false;
        $('user-id').textContent = u.id;
        var facts = $('user-facts');
        facts.textContent = '';
        [['Nickname', u.nickname || '(none)'], ['Created', when(u.createdAt)], ['Todos', u.todoCount],
          ['Phone', u.phoneNumber || '(none)'],
          ['State', u.disabled ? 'disabled: ' + (u.disabledReason || '') : 'active']].forEach(function (f) {
          var dt = document.createElement('dt');
          dt.textContent = f[0];
          var dd = document.createElement('dd');
          dd.textContent = String(f[1]);
          if (f[0] === 'State' && u.disabled) { dd.className = 'disabled'; }
          facts.appendChild(dt);
          facts.appendChild(dd);
        });
        var body = $('session-list').tBodies[0];
        body.textContent = '';
        u.sessions.forEach(function (s) {
          var tr = document.createElement('tr');
          cell(tr, s.id);
          cell(tr, when(s.createdAt));
          cell(tr, when(s.lastUsedAt));
          cell(tr, when(s.expiresAt));
          body.appendChild(tr);
        });
        $('disable-form').hidden = u.disabled;
        $('enable').hidden = !u.disabled;
      }, fail);
  }

  function acted(id, text) {
    status(text);
    openUser(id);
    searchUsers(false, true);
    loadAudit(false);
  }

  $('revoke').addEventListener('click', function () {
    var id = state.userId;
    gql('mutation($id: ID!) { adminRevokeSessions(userId: $id) }', { id: id }).then(function (d) {
      acted(id, d.adminRevokeSessions + ' sessions ended');
    }, fail);
  });
  $('disable-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var reason = $('reason').value.trim();
    if (!reason) { status('Give a reason: it is recorded', true); return; }
    var id = state.userId;
    gql('mutation($id: ID!, $reason: String!) { adminDisableUser(userId: $id, reason: $reason) { id disabled } }',
      { id: id, reason: reason }).then(function () {
      $('reason').value = '';
      acted(id, 'User ' + id + ' disabled');
    }, fail);
  });
  $('enable').addEventListener('click', function () {
    var id = state.userId;
    gql('mutation($id: ID!) { adminEnableUser(userId: $id) { id disabled } }', { id: id }).then(function () {
      acted(id, 'User ' + id + ' enabled');
    }, fail);
  });

  // The audit log.

  function loadAudit(more) {
    var current = latest('audit');
    gql('query($after: String) { adminAudit(first: 50, after: $after) { edges { node { at operator action target reason clientIp } } ' +
      'pageInfo { hasNextPage endCursor } } }', { after: more ? state.auditAfter : null }).then(function (d) {
      if (!current()) { return; }
      var body = $('audit-list').tBodies[0];
      if (!more) { body.textContent = ''; }
      d.adminAudit.edges.forEach(function (e) {
        var a = e.node;
        var tr = document.createElement('tr');
        cell(tr, when(a.at));
        cell(tr, a.operator);
        cell(tr, a.action);
        cell(tr, a.target);
        cell(tr, a.reason);
        cell(tr, a.clientIp);
        body.appendChild(tr);
      });
      state.auditAfter = d.adminAudit.pageInfo.endCursor;
      $('more-audit').hidden = !d.adminAudit.pageInfo.hasNextPage;
    }, fail);
  }
  $('refresh-audit').addEventListener('click', function () { loadAudit(false); });
  $('more-audit').addEventListener('click', function () { loadAudit(true); });

  if (token()) {
    gql('query { adminAudit(first: 1) { edges { cursor } } }').then(signedIn, function (err) { signOut(); status(err.message, true); });
  }
})();
