package playground_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wxtodo/playground"
)

// TestPlaygroundServesItsOwnAssets checks that the page needs no CDN: every
// script and style it names is served by wxtodo itself.
func TestPlaygroundServesItsOwnAssets(t *testing.T) {
	srv := httptest.NewServer(playground.New(playground.Options{Endpoint: "/query", SignInCode: "alice"}))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/")
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
		r, err := http.Get(srv.URL + "/playground/" + asset)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusOK || r.ContentLength < 100 {
			t.Errorf("/playground/%s: %d, %d bytes", asset, r.StatusCode, r.ContentLength)
		}
	}
	if !strings.Contains(html, `Sign in as alice`) {
		t.Errorf("the page lacks the sign-in note for its SignInCode")
	}
}

// TestPlaygroundWithoutSignIn: without a SignInCode (production) the page
// has no sign-in button and keeps no headers across page loads.
func TestPlaygroundWithoutSignIn(t *testing.T) {
	srv := httptest.NewServer(playground.New(playground.Options{Endpoint: "/query"}))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if html := string(body); strings.Contains(html, "Sign in as") || strings.Contains(html, `data-persist-headers="true"`) {
		t.Errorf("the production page offers a sign-in or keeps headers:\n%s", html)
	}
}
