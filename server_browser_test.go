package main

// The playground as a browser uses it, on the server of `go run .`.

import (
	"context"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxtodo/admin"
	"wxtodo/apitest"

	"github.com/chromedp/chromedp"
)

// chromium finds Debian's Chromium. Under CI=true a missing browser fails
// the test rather than skipping it.
func chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{os.Getenv("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but no Chromium found (apt-get install chromium, or set CHROMIUM)")
	}
	t.Skip("no Chromium found (apt-get install chromium, or set CHROMIUM)")
	return ""
}

// TestPlaygroundInBrowser drives GraphiQL in headless Chromium: the page
// loads from the binary alone, the sign-in button signs in as alice and
// fills the Authorization header, and running todos shows alice's todo.
func TestPlaygroundInBrowser(t *testing.T) {
	exe := chromium(t)
	in := devInstance(t)
	srv := httptest.NewServer(in.app.Handler)
	t.Cleanup(srv.Close)
	token, _ := in.Login(t, "alice")
	const title = "buy milk, seen in the browser"
	in.OK(t, `mutation($t: String!) { createTodo(input: {title: $t}) { id } }`, nil, apitest.As(token), apitest.Vars(map[string]any{"t": title}))
	bobToken, _ := in.Login(t, "bob")
	in.OK(t, `mutation { createTodo(input: {title: "bob's secret"}) { id } }`, nil, apitest.As(bobToken))

	ctx := browser(t, exe)

	query := "query MyTodos { todos(first: 20) { totalCount edges { node { title } } } }"
	page := srv.URL + "/?query=" + url.QueryEscape(query)
	var who, headers, result string
	err := chromedp.Run(ctx,
		chromedp.Navigate(page),
		chromedp.WaitVisible(`.graphiql-container`, chromedp.ByQuery),
		chromedp.WaitVisible(`#signin`, chromedp.ByID),
		chromedp.Click(`#signin`, chromedp.ByID),
		chromedp.Poll(`document.getElementById('who').textContent.startsWith('Signed in as alice')`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text(`#who`, &who, chromedp.ByID),
		// GraphiQL's header editor is CodeMirror; its text is the header JSON.
		chromedp.Evaluate(`Array.from(document.querySelectorAll('.graphiql-editor-tool .CodeMirror')).map(function (el) { return el.CodeMirror.getValue(); }).join('\n')`, &headers),
		chromedp.Click(`.graphiql-execute-button`, chromedp.ByQuery),
		chromedp.Poll(`(document.querySelector('.graphiql-response .CodeMirror') || {CodeMirror: {getValue: function () { return ''; }}}).CodeMirror.getValue().indexOf('totalCount') >= 0`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(`document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()`, &result),
	)
	if err != nil {
		// What the page showed, for the failure report.
		var note string
		dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
		defer dcancel()
		chromedp.Run(dctx, chromedp.Evaluate(`document.body.innerText.slice(0, 2000)`, &note)) //nolint:errcheck // best effort
		t.Fatalf("browser: %v\npage text:\n%s", err, note)
	}
	if !strings.Contains(headers, `"Authorization": "Bearer `) {
		t.Errorf("after signing in, the Headers pane holds %q; want the Authorization header", headers)
	}
	if !strings.Contains(result, title) || !strings.Contains(result, `"totalCount": 1`) {
		t.Errorf("todos result on the page:\n%s\nwant alice's one todo %q", result, title)
	}
	if strings.Contains(result, "bob's secret") {
		t.Errorf("alice's page shows bob's todo:\n%s", result)
	}
	t.Logf("page says %q; result:\n%s", who, result)

	// GraphiQL runs a subscription over the WebSocket, with the Headers
	// pane's token: a todo made elsewhere shows in its response pane.
	// The page signed in with the code alice again, which replaced the
	// test's session of that code: its token is the one to use now.
	pageToken := headers[strings.Index(headers, "Bearer ")+len("Bearer "):]
	pageToken = pageToken[:strings.IndexByte(pageToken, '"')]
	const live = "subscription Live { todoChanged { kind todo { title } } }"
	const liveTitle = "made on another device, seen live"
	// (A new page for the new document: GraphiQL keeps the operation
	// name it ran.)
	err = chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/?query="+url.QueryEscape(live)),
		chromedp.WaitVisible(`.graphiql-container`, chromedp.ByQuery),
		chromedp.Poll(`(document.querySelector('.graphiql-query-editor .CodeMirror') || {CodeMirror: {getValue: function () { return ''; }}}).CodeMirror.getValue().indexOf('todoChanged') >= 0`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		// The new page's tab has its own Headers pane: the token again.
		chromedp.Evaluate(`document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror').CodeMirror.setValue(`+strconv.Quote(`{"Authorization": "Bearer `+pageToken+`"}`)+`)`, nil),
		chromedp.Click(`.graphiql-execute-button`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("browser: start the subscription: %v", err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, subs := in.app.live.Counts(); subs == 1 {
			break
		}
		if time.Now().After(deadline) {
			var pane string
			chromedp.Run(ctx, chromedp.Evaluate(`Array.from(document.querySelectorAll('.CodeMirror')).map(function (el) { return el.parentElement.className + ' | ' + el.parentElement.parentElement.className + ' = ' + el.CodeMirror.getValue(); }).join('\n')`, &pane)) //nolint:errcheck // best effort
			t.Fatalf("GraphiQL's subscription did not reach the server within 20s; the page shows:\n%s", pane)
		}
		time.Sleep(20 * time.Millisecond)
	}
	in.OK(t, `mutation($t: String!) { createTodo(input: {title: $t}) { id } }`, nil, apitest.As(pageToken), apitest.Vars(map[string]any{"t": liveTitle}))
	err = chromedp.Run(ctx,
		chromedp.Poll(`document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue().indexOf(`+strconv.Quote(liveTitle)+`) >= 0`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(`document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()`, &result),
	)
	if err != nil {
		t.Fatalf("browser: the live change did not show: %v\nresponse pane:\n%s", err, result)
	}
	if !strings.Contains(result, `"CREATED"`) {
		t.Errorf("subscription result on the page:\n%s\nwant a CREATED event", result)
	}
}

// browserProfile is a fresh Chromium user data directory. Chromium's helper
// processes may still write to it for a moment after the browser is
// cancelled, which t.TempDir's cleanup reports as a failure; this one is
// removed with a few retries instead.
func browserProfile(t testing.TB) string {
	dir, err := os.MkdirTemp("", "wxtodo-chromium-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove %s", dir)
	})
	return dir
}

// browser starts headless Chromium at exe for the test and returns its
// context, bounded to 90 seconds.
func browser(t *testing.T, exe string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(browserProfile(t)),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTimeout)
	return ctx
}

// TestAdminPageInBrowser drives the admin page in headless Chromium: an
// operator signs in by pasting a token (kept in the tab's session storage
// only), finds a user, opens them, revokes their sessions, and the user's
// token is refused from then on; the page shows the audit entry.
func TestAdminPageInBrowser(t *testing.T) {
	exe := chromium(t)
	in := devInstance(t)
	srv := httptest.NewServer(in.app.Handler)
	t.Cleanup(srv.Close)
	userToken, uid := in.Login(t, "dora")
	in.OK(t, `mutation { updateProfile(input: {nickname: "Dora <b>not bold</b>"}) { id } }`, nil, apitest.As(userToken))
	in.Login(t, "eli")
	op, _, err := in.app.resolver.AdminService.IssueToken(context.Background(), admin.Actor{Operator: admin.CLI}, "browser-ops", 0)
	if err != nil {
		t.Fatal(err)
	}

	ctx := browser(t, exe)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var status, nickname, stored, persisted, audit string
	var rows int
	err = chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/admin"),
		chromedp.WaitVisible(`#token`, chromedp.ByID),
		chromedp.SendKeys(`#token`, op, chromedp.ByID),
		// A click, as a person submits (form.submit() fires no submit event).
		chromedp.Click(`#signin-form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#app`, chromedp.ByID),
		chromedp.Evaluate(`sessionStorage.getItem('wxtodo.admin.token') || ''`, &stored),
		chromedp.Evaluate(`JSON.stringify(localStorage) + document.cookie`, &persisted),
		chromedp.SendKeys(`#search`, uid, chromedp.ByID),
		chromedp.Click(`#search-form button[type=submit]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelectorAll('#user-list tbody tr').length === 1 && document.querySelector('#user-list tbody tr').dataset.id === `+strconv.Quote(uid), nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Click(`#user-list tbody tr`, chromedp.ByQuery),
		chromedp.WaitVisible(`#user`, chromedp.ByID),
		chromedp.Poll(`document.querySelectorAll('#session-list tbody tr').length === 1`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text(`#user-facts dd`, &nickname, chromedp.ByQuery),
		chromedp.Click(`#revoke`, chromedp.ByID),
		chromedp.Poll(`document.getElementById('status').textContent === '1 sessions ended'`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Poll(`document.querySelectorAll('#session-list tbody tr').length === 0`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Poll(`document.querySelector('#audit-list tbody tr') && document.querySelector('#audit-list tbody tr').textContent.indexOf('revoke_sessions') >= 0`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text(`#audit-list tbody tr`, &audit, chromedp.ByQuery),
		chromedp.Text(`#status`, &status, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll('#user-facts b').length`, &rows),
	)
	if err != nil {
		var note string
		chromedp.Run(ctx, chromedp.Evaluate(`document.body.innerText.slice(0, 3000)`, &note)) //nolint:errcheck // best effort
		t.Fatalf("browser: %v\npage text:\n%s", err, note)
	}
	if stored != op || strings.Contains(persisted, op) {
		t.Errorf("the token: in session storage %v, elsewhere %q; want session storage only", stored == op, persisted)
	}
	if nickname != "Dora <b>not bold</b>" || rows != 0 {
		t.Errorf("the nickname shows as %q (%d <b> elements): want it as text", nickname, rows)
	}
	if !strings.Contains(audit, "browser-ops") || !strings.Contains(audit, "user:"+uid) {
		t.Errorf("the audit row %q lacks the operator or the target", audit)
	}
	in.Fails(t, `{ me { id } }`, "UNAUTHENTICATED", apitest.As(userToken))
	t.Logf("status %q; audit %q", status, audit)
}
