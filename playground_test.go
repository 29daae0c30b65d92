package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"wxtodo/db/dbtest"
)

// chromium finds Debian's Chromium. Under CI=true a missing browser fails
// the test rather than skipping it.
func chromium(t *testing.T) string {
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

// devEnv starts a server in development mode (the mock WeChat), as
// `go run .` does.
func devEnv(t *testing.T) *env {
	t.Helper()
	cfg, err := loadConfig(configEnv("DATABASE_URL", dbtest.SQLiteURL(t), "LOG_LEVEL", "warn",
		"DATA_KEY_FILE", filepath.Join(t.TempDir(), "data.key")), nil)
	if err != nil {
		t.Fatal(err)
	}
	return startEnv(t, cfg, nil)
}

// TestPlaygroundInBrowser drives GraphiQL in headless Chromium: the page
// loads from the binary alone, the sign-in button signs in as alice and
// fills the Authorization header, and running todos shows alice's todo.
func TestPlaygroundInBrowser(t *testing.T) {
	exe := chromium(t)
	e := devEnv(t)
	token, _ := e.login("alice")
	const title = "buy milk, seen in the browser"
	e.ok(token, `mutation($t: String!) { createTodo(input: {title: $t}) { id } }`, map[string]any{"t": title}, nil)
	bobToken, _ := e.login("bob")
	e.ok(bobToken, `mutation { createTodo(input: {title: "bob's secret"}) { id } }`, nil, nil)

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
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	defer cancelTimeout()

	query := "query MyTodos { todos(first: 20) { totalCount edges { node { title } } } }"
	page := e.srv.URL + "/?query=" + url.QueryEscape(query)
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
}

// TestPlaygroundServesItsOwnAssets checks that the page needs no CDN: every
// script and style it names is served by wxtodo itself.
func TestPlaygroundServesItsOwnAssets(t *testing.T) {
	e := devEnv(t)
	resp, err := http.Get(e.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	html := string(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("GET /: %d, CSP %q", resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
	}
	if strings.Contains(html, "http://") || strings.Contains(html, "https://") {
		t.Errorf("the page refers to another host:\n%s", html)
	}
	for _, asset := range []string{"graphiql.min.js", "graphiql.min.css", "react.production.min.js", "react-dom.production.min.js", "page.js", "page.css"} {
		if !strings.Contains(html, "/playground/"+asset) {
			t.Errorf("the page does not load %s", asset)
		}
		r, err := http.Get(e.srv.URL + "/playground/" + asset)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusOK || r.ContentLength < 100 {
			t.Errorf("/playground/%s: %d, %d bytes", asset, r.StatusCode, r.ContentLength)
		}
	}
	if !strings.Contains(html, `Sign in as alice`) {
		t.Errorf("development mode page lacks the sign-in note")
	}
}

// browserProfile is a fresh Chromium user data directory. Chromium's helper
// processes may still write to it for a moment after the browser is
// cancelled, which t.TempDir's cleanup reports as a failure; this one is
// removed with a few retries instead.
func browserProfile(t *testing.T) string {
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
