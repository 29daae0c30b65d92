// Package wechattest provides a fake WeChat server for tests. It serves
// jscode2session (every code is valid and maps to a stable openid),
// stable_token, getuserphonenumber and checksession; a test can script
// errcodes, slowness, HTTP failures and garbage per code (or openid).
package wechattest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Credentials the fake expects.
const (
	AppID  = "wx_test_appid"
	Secret = "test-app-secret-Do-Not-Log-7f3a"
)

// DefaultTokenTTL is the lifetime of the fake's access tokens unless a test
// sets another with SetTokenTTL.
const DefaultTokenTTL = 2 * time.Hour

// Reply is one scripted answer.
type Reply struct {
	Errcode int           // non-zero: answer {"errcode":..., "errmsg":...}
	Status  int           // non-zero and not 200: answer with this HTTP status
	Body    string        // non-empty: answer exactly this body
	Delay   time.Duration // wait before answering (or until the client gives up)
	UnionID string        // sent with a successful jscode2session answer
	// As, for jscode2session, answers with the openid of the code As: a
	// new code of a user who logged in before (WeChat gives a person one
	// openid per app, and a new session_key per code).
	As string
}

// Fake is a WeChat server.
type Fake struct {
	*httptest.Server

	mu     sync.Mutex
	script map[string][]Reply // jscode2session, by code
	calls  map[string]int
	total  int

	tokenFree   bool // AsOpenAPIService
	tokenless   int
	tokenScript []Reply
	tokenCalls  int
	forced      int
	tokenN      int // tokens issued: the current one is tok-<tokenN>
	tokenTTL    time.Duration
	tokenExpiry time.Time

	phoneScript map[string][]Reply // by code
	phoneCalls  map[string]int

	checkScript map[string][]Reply // by openid
	checkCalls  map[string]int
	sessionKeys map[string]string // openid -> the session_key handed out last
}

// New starts a fake, closed when the test ends.
func New(tb testing.TB) *Fake {
	tb.Helper()
	f := &Fake{
		script:      map[string][]Reply{},
		calls:       map[string]int{},
		tokenTTL:    DefaultTokenTTL,
		phoneScript: map[string][]Reply{},
		phoneCalls:  map[string]int{},
		checkScript: map[string][]Reply{},
		checkCalls:  map[string]int{},
		sessionKeys: map[string]string{},
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(f.Close)
	return f
}

// AsOpenAPIService has the fake answer as WeChat Cloud Hosting's open-API
// service (开放接口服务): calls carry no access_token, the platform adds
// the credentials (a call with one is refused with 40001), and
// TokenlessCalls counts them.
func (f *Fake) AsOpenAPIService() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenFree = true
}

// TokenlessCalls returns how many calls came without an access_token to
// the open-API service.
func (f *Fake) TokenlessCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenless
}

// On scripts the jscode2session answers to code: one reply per call in
// order, the last repeating.
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

// TotalCalls returns how many jscode2session exchanges the fake has seen.
func (f *Fake) TotalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.total
}

// OpenID is the openid the fake gives code.
func OpenID(code string) string { return "oid-" + code }

// SessionKey is the session_key the fake gives code: like WeChat's, the
// base64 of 16 bytes, so that data encrypted with it decrypts; tests look
// for it where it must never appear.
func SessionKey(code string) string {
	sum := sha256.Sum256([]byte("wechattest session_key\x00" + code))
	return base64.StdEncoding.EncodeToString(sum[:16])
}

// Token is the n-th access token the fake issues (from 1).
func Token(n int) string { return fmt.Sprintf("tok-%d", n) }

// PhoneNumber is the (mainland) number the fake gives a phone code.
func PhoneNumber(code string) string {
	sum := sha256.Sum256([]byte(code))
	var n uint64
	for _, b := range sum[:8] {
		n = n<<8 | uint64(b)
	}
	return fmt.Sprintf("138%08d", n%100_000_000)
}

// OnStableToken scripts the stable_token answers: one reply per call in
// order, the last repeating.
func (f *Fake) OnStableToken(replies ...Reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenScript = replies
}

// StableTokenCalls returns how many stable_token calls the fake has seen.
func (f *Fake) StableTokenCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCalls
}

// ForcedRefreshes returns how many stable_token calls asked for
// force_refresh.
func (f *Fake) ForcedRefreshes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.forced
}

// SetTokenTTL sets the lifetime of tokens issued from now on.
func (f *Fake) SetTokenTTL(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenTTL = d
}

// CurrentToken returns the valid access token, "" before the first.
func (f *Fake) CurrentToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tokenN == 0 {
		return ""
	}
	return Token(f.tokenN)
}

// ExpireToken makes the current token expire now: APIs answer 42001 for it
// and the next stable_token call issues a new one.
func (f *Fake) ExpireToken() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokenExpiry = time.Now()
}

// RotateToken issues a new token that no client has seen, as a forced
// refresh by another instance would: the old one gets 40001.
func (f *Fake) RotateToken() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.issueToken()
	return Token(f.tokenN)
}

// OnPhone scripts the getuserphonenumber answers to a phone code.
func (f *Fake) OnPhone(code string, replies ...Reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.phoneScript[code] = replies
}

// PhoneCalls returns how many getuserphonenumber calls carried code.
func (f *Fake) PhoneCalls(code string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.phoneCalls[code]
}

// OnCheckSession scripts the checksession answers for openid.
func (f *Fake) OnCheckSession(openid string, replies ...Reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checkScript[openid] = replies
}

// CheckSessionCalls returns how many checksession calls asked about openid.
func (f *Fake) CheckSessionCalls(openid string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checkCalls[openid]
}

// SetSessionKey makes key the current session_key of openid, as a new
// wx.login would: checksession then rejects the old one.
func (f *Fake) SetSessionKey(openid, key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessionKeys[openid] = key
}

// currentSessionKey is the key checksession accepts for openid: the one
// handed out or set last, else the one jscode2session would hand out.
func (f *Fake) currentSessionKey(openid string) (string, bool) {
	if k, ok := f.sessionKeys[openid]; ok {
		return k, true
	}
	if code, ok := strings.CutPrefix(openid, "oid-"); ok {
		return SessionKey(code), true
	}
	return "", false
}

func (f *Fake) issueToken() {
	f.tokenN++
	f.tokenExpiry = time.Now().Add(f.tokenTTL)
}

// checkToken returns the errcode for an access token: 0 for the current
// one, 42001 for the current one expired, 40001 for any other.
func (f *Fake) checkToken(tok string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tokenFree {
		if tok != "" {
			return 40001 // the service knows no tokens
		}
		f.tokenless++
		return 0
	}
	switch {
	case f.tokenN == 0 || tok != Token(f.tokenN):
		return 40001
	case !time.Now().Before(f.tokenExpiry):
		return 42001
	}
	return 0
}

func pick(replies []Reply, n int) Reply {
	if len(replies) == 0 {
		return Reply{}
	}
	return replies[min(n, len(replies)-1)]
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain") // as WeChat does
	switch r.URL.Path {
	case "/sns/jscode2session":
		f.serveCode2Session(w, r)
	case "/cgi-bin/stable_token":
		f.serveStableToken(w, r)
	case "/wxa/business/getuserphonenumber":
		f.servePhoneNumber(w, r)
	case "/wxa/checksession":
		f.serveCheckSession(w, r)
	default:
		http.NotFound(w, r)
	}
}

// scripted answers rep's delay, HTTP status or body and reports whether it
// did (or the client gave up).
func scripted(w http.ResponseWriter, r *http.Request, rep Reply) bool {
	if rep.Delay > 0 {
		select {
		case <-time.After(rep.Delay):
		case <-r.Context().Done():
			return true
		}
	}
	switch {
	case rep.Status != 0 && rep.Status != http.StatusOK:
		w.WriteHeader(rep.Status)
		w.Write([]byte(rep.Body)) //nolint:errcheck // test server
	case rep.Body != "":
		w.Write([]byte(rep.Body)) //nolint:errcheck // test server
	default:
		return false
	}
	return true
}

func writeErrcode(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, map[string]any{"errcode": code, "errmsg": msg})
}

func (f *Fake) serveCode2Session(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code := q.Get("js_code")
	f.mu.Lock()
	n := f.calls[code]
	f.calls[code]++
	f.total++
	rep := pick(f.script[code], n)
	f.mu.Unlock()

	switch {
	case scripted(w, r, rep):
	case q.Get("appid") != AppID || q.Get("secret") != Secret:
		writeErrcode(w, 40013, "invalid appid")
	case q.Get("grant_type") != "authorization_code":
		writeErrcode(w, 40002, "invalid grant_type")
	case rep.Errcode != 0:
		writeErrcode(w, rep.Errcode, "scripted error")
	default:
		who := code
		if rep.As != "" {
			who = rep.As
		}
		ans := map[string]any{"openid": OpenID(who), "session_key": SessionKey(code)}
		if rep.UnionID != "" {
			ans["unionid"] = rep.UnionID
		}
		f.mu.Lock()
		f.sessionKeys[OpenID(who)] = SessionKey(code)
		f.mu.Unlock()
		writeJSON(w, ans)
	}
}

func (f *Fake) serveStableToken(w http.ResponseWriter, r *http.Request) {
	var req struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	bodyErr := json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	n := f.tokenCalls
	f.tokenCalls++
	if req.ForceRefresh {
		f.forced++
	}
	rep := pick(f.tokenScript, n)
	f.mu.Unlock()

	switch {
	case scripted(w, r, rep):
	case r.Method != http.MethodPost || bodyErr != nil:
		writeErrcode(w, 47001, "data format error")
	case req.AppID != AppID:
		writeErrcode(w, 40013, "invalid appid")
	case req.Secret != Secret:
		writeErrcode(w, 40125, "invalid appsecret")
	case req.GrantType != "client_credential":
		writeErrcode(w, 40002, "invalid grant_type")
	case rep.Errcode != 0:
		writeErrcode(w, rep.Errcode, "scripted error")
	default:
		f.mu.Lock()
		// Like WeChat's stable_token: the same token until it expires,
		// unless forced.
		if f.tokenN == 0 || req.ForceRefresh || !time.Now().Before(f.tokenExpiry) {
			f.issueToken()
		}
		tok, left := Token(f.tokenN), time.Until(f.tokenExpiry)
		f.mu.Unlock()
		writeJSON(w, map[string]any{"access_token": tok, "expires_in": max(1, int((left+time.Second-1)/time.Second))})
	}
}

func (f *Fake) servePhoneNumber(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code   string `json:"code"`
		OpenID string `json:"openid"`
	}
	bodyErr := json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	n := f.phoneCalls[req.Code]
	f.phoneCalls[req.Code]++
	rep := pick(f.phoneScript[req.Code], n)
	f.mu.Unlock()

	switch tokErr := f.checkToken(r.URL.Query().Get("access_token")); {
	case scripted(w, r, rep):
	case r.Method != http.MethodPost || bodyErr != nil:
		writeErrcode(w, 47001, "data format error")
	case tokErr != 0:
		writeErrcode(w, tokErr, "invalid credential, access_token is invalid or not latest")
	case req.Code == "":
		writeErrcode(w, 40029, "invalid code")
	case rep.Errcode != 0:
		writeErrcode(w, rep.Errcode, "scripted error")
	default:
		p := PhoneNumber(req.Code)
		writeJSON(w, map[string]any{"errcode": 0, "errmsg": "ok", "phone_info": map[string]any{
			"phoneNumber":     p,
			"purePhoneNumber": p,
			"countryCode":     "86",
			"watermark":       map[string]any{"timestamp": time.Now().Unix(), "appid": AppID},
		}})
	}
}

func (f *Fake) serveCheckSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	openid := q.Get("openid")
	f.mu.Lock()
	n := f.checkCalls[openid]
	f.checkCalls[openid]++
	rep := pick(f.checkScript[openid], n)
	key, known := f.currentSessionKey(openid)
	f.mu.Unlock()

	switch tokErr := f.checkToken(q.Get("access_token")); {
	case scripted(w, r, rep):
	case tokErr != 0:
		writeErrcode(w, tokErr, "invalid credential, access_token is invalid or not latest")
	case q.Get("sig_method") != "hmac_sha256":
		writeErrcode(w, 40097, "invalid args")
	case rep.Errcode != 0:
		writeErrcode(w, rep.Errcode, "scripted error")
	case !known || !hmac.Equal([]byte(q.Get("signature")), []byte(signature(key))):
		writeErrcode(w, 87009, "invalid signature")
	default:
		writeErrcode(w, 0, "ok")
	}
}

// signature is WeChat's login-state signature, computed here independently
// of the client.
func signature(sessionKey string) string {
	m := hmac.New(sha256.New, []byte(sessionKey))
	return hex.EncodeToString(m.Sum(nil))
}

func writeJSON(w http.ResponseWriter, v any) {
	json.NewEncoder(w).Encode(v) //nolint:errcheck // test server
}
