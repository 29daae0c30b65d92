// Package wechattest provides a fake jscode2session server for tests: by
// default every code is valid and maps to a stable openid; a test can
// script errcodes, slowness, HTTP failures and garbage per code.
package wechattest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Credentials the fake expects.
const (
	AppID  = "wx_test_appid"
	Secret = "test-app-secret-Do-Not-Log-7f3a"
)

// Reply is one scripted answer.
type Reply struct {
	Errcode int           // non-zero: answer {"errcode":..., "errmsg":...}
	Status  int           // non-zero and not 200: answer with this HTTP status
	Body    string        // non-empty: answer exactly this body
	Delay   time.Duration // wait before answering (or until the client gives up)
	UnionID string        // sent with a successful answer
}

// Fake is a jscode2session server.
type Fake struct {
	*httptest.Server

	mu     sync.Mutex
	script map[string][]Reply
	calls  map[string]int
	total  int
}

// New starts a fake, closed when the test ends.
func New(tb testing.TB) *Fake {
	tb.Helper()
	f := &Fake{script: map[string][]Reply{}, calls: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.Close)
	return f
}

// On scripts the answers to code: one reply per call in order, the last
// repeating.
func (f *Fake) On(code string, replies ...Reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script[code] = replies
}

// Calls returns how many times code was exchanged.
func (f *Fake) Calls(code string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[code]
}

// TotalCalls returns how many exchanges the fake has seen.
func (f *Fake) TotalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total
}

// OpenID is the openid the fake gives code.
func OpenID(code string) string { return "oid-" + code }

// SessionKey is the session_key the fake gives code: tests look for it
// where it must never appear.
func SessionKey(code string) string { return "SESSIONKEY-" + code + "-c0ffee" }

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code := q.Get("js_code")
	f.mu.Lock()
	n := f.calls[code]
	f.calls[code]++
	f.total++
	replies := f.script[code]
	f.mu.Unlock()

	var rep Reply
	if len(replies) > 0 {
		rep = replies[min(n, len(replies)-1)]
	}
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain") // as WeChat does
	switch {
	case r.URL.Path != "/sns/jscode2session":
		http.NotFound(w, r)
	case rep.Status != 0 && rep.Status != http.StatusOK:
		w.WriteHeader(rep.Status)
		w.Write([]byte(rep.Body)) //nolint:errcheck // test server
	case rep.Body != "":
		w.Write([]byte(rep.Body)) //nolint:errcheck // test server
	case q.Get("appid") != AppID || q.Get("secret") != Secret:
		writeJSON(w, map[string]any{"errcode": 40013, "errmsg": "invalid appid"})
	case q.Get("grant_type") != "authorization_code":
		writeJSON(w, map[string]any{"errcode": 40002, "errmsg": "invalid grant_type"})
	case rep.Errcode != 0:
		writeJSON(w, map[string]any{"errcode": rep.Errcode, "errmsg": "scripted error"})
	default:
		ans := map[string]any{"openid": OpenID(code), "session_key": SessionKey(code)}
		if rep.UnionID != "" {
			ans["unionid"] = rep.UnionID
		}
		writeJSON(w, ans)
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	json.NewEncoder(w).Encode(v) //nolint:errcheck // test server
}
