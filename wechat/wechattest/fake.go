// Package wechattest provides a fake WeChat server for tests. It serves
// jscode2session (every code is valid and maps to a stable openid, per
// app once AddApp adds a second mini-program),
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
	// OtherAppID and OtherSecret are a second mini-program's, for
	// AddApp.
	OtherAppID  = "wx_test_appid_b"
	OtherSecret = "test-app-secret-B-Do-Not-Log-9c1e"
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
	// NoUnionID withholds the unionid of a fake with several apps, as
	// WeChat does before the app is bound to the Open Platform account.
	NoUnionID bool
}

// otherApp is a mini-program added with AddApp, with its own
// access_token.
type otherApp struct {
	secret      string
	tokenCalls  int
	tokenN      int
	tokenExpiry time.Time
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

	others map[string]*otherApp // AddApp's, by AppID
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
		others:      map[string]*otherApp{},
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

// AddApp adds a mini-program beside AppID, bound with it to one Open
// Platform account: from then on every jscode2session answer carries the
// person's unionid (UnionID, unless scripted otherwise), the same in
// every app, while openids differ per app (OpenIDIn). The app has its own
// access_token (tok-<appid>-<n>).
func (f *Fake) AddApp(appID, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o := f.others[appID]; o != nil {
		o.secret = secret // added again (servers sharing the fake): its token stays
		return
	}
	f.others[appID] = &otherApp{secret: secret}
}

// OpenID is the openid the fake gives code in AppID.
func OpenID(code string) string { return "oid-" + code }

// OpenIDIn is the openid the fake gives code in the app appID: OpenID's
// for AppID, another for every other app.
func OpenIDIn(appID, code string) string {
	if appID == AppID {
		return OpenID(code)
	}
	return "oid-" + appID + "-" + code
}

// UnionID is the unionid of the person of code, in every app, once the
// fake has several (AddApp).
func UnionID(code string) string { return "uid-" + code }

// SessionKeyIn is the session_key the fake gives code in the app appID.
func SessionKeyIn(appID, code string) string {
	if appID == AppID {
		return SessionKey(code)
	}
	return SessionKey(appID + "/" + code)
}

// SecretOf is the secret the fake expects of appID: Secret for AppID,
// OtherSecret for OtherAppID, and for any other app one derived from its
// AppID (as AddApp is told).
func SecretOf(appID string) string {
	switch appID {
	case AppID:
		return Secret
	case OtherAppID:
		return OtherSecret
	}
	return "test-app-secret-of-" + appID
}

// StableTokenCallsFor returns how many stable_token calls the app appID
// made.
func (f *Fake) StableTokenCallsFor(appID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if o := f.others[appID]; o != nil {
		return o.tokenCalls
	}
	if appID != AppID {
		return 0
	}
	n := f.tokenCalls
	for _, o := range f.others {
		n -= o.tokenCalls
	}
	return n
}

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
	for appID := range f.others {
		if code, ok := strings.CutPrefix(openid, "oid-"+appID+"-"); ok {
			return SessionKeyIn(appID, code), true
		}
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
	if appID, o := f.tokenApp(tok); o != nil {
		switch {
		case o.tokenN == 0 || tok != otherToken(appID, o.tokenN):
			return 40001
		case !time.Now().Before(o.tokenExpiry):
			return 42001
		}
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

func otherToken(appID string, n int) string { return fmt.Sprintf("tok-%s-%d", appID, n) }

// tokenApp is the added app whose token tok is, if any.
func (f *Fake) tokenApp(tok string) (string, *otherApp) {
	for appID, o := range f.others {
		if strings.HasPrefix(tok, "tok-"+appID+"-") {
			return appID, o
		}
	}
	return AppID, nil
}

// callerApp is the app a call is made as: its access_token's, or as the
// open-API service takes it, from_appid's (the environment's own app,
// AppID, without one).
func (f *Fake) callerApp(r *http.Request) string {
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tokenFree {
		if from := q.Get("from_appid"); from != "" {
			return from
		}
		return AppID
	}
	app, _ := f.tokenApp(q.Get("access_token"))
	return app
}

// foreignOpenID reports whether openid is another app's than the one
// the call is made as: WeChat answers 40003 (invalid openid) when a call
// mixes apps.
func (f *Fake) foreignOpenID(callerApp, openid string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if openid == "" {
		return false
	}
	openidApp := AppID
	for appID := range f.others {
		if strings.HasPrefix(openid, "oid-"+appID+"-") {
			openidApp = appID
		}
	}
	return callerApp != openidApp
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

	appID := q.Get("appid")
	f.mu.Lock()
	secret, unionIDs := Secret, len(f.others) > 0
	if o := f.others[appID]; o != nil {
		secret = o.secret
	} else if appID != AppID {
		secret = "\x00" // no app: no secret matches
	}
	f.mu.Unlock()
	switch {
	case scripted(w, r, rep):
	case q.Get("secret") != secret:
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
		openid, key := OpenIDIn(appID, who), SessionKeyIn(appID, code)
		ans := map[string]any{"openid": openid, "session_key": key}
		switch {
		case rep.UnionID != "":
			ans["unionid"] = rep.UnionID
		case unionIDs && !rep.NoUnionID:
			ans["unionid"] = UnionID(who)
		}
		f.mu.Lock()
		f.sessionKeys[openid] = key
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
	other := f.others[req.AppID]
	if other != nil {
		other.tokenCalls++
	}
	f.mu.Unlock()

	switch {
	case scripted(w, r, rep):
	case r.Method != http.MethodPost || bodyErr != nil:
		writeErrcode(w, 47001, "data format error")
	case other != nil:
		f.serveOtherToken(w, req.AppID, other, req.Secret, req.ForceRefresh)
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

// serveOtherToken answers stable_token for an added app.
func (f *Fake) serveOtherToken(w http.ResponseWriter, appID string, o *otherApp, secret string, force bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if secret != o.secret {
		writeErrcode(w, 40125, "invalid appsecret")
		return
	}
	if o.tokenN == 0 || force || !time.Now().Before(o.tokenExpiry) {
		o.tokenN++
		o.tokenExpiry = time.Now().Add(f.tokenTTL)
	}
	left := time.Until(o.tokenExpiry)
	writeJSON(w, map[string]any{"access_token": otherToken(appID, o.tokenN), "expires_in": max(1, int((left+time.Second-1)/time.Second))})
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

	tok := r.URL.Query().Get("access_token")
	watermark := f.callerApp(r)
	switch tokErr := f.checkToken(tok); {
	case scripted(w, r, rep):
	case r.Method != http.MethodPost || bodyErr != nil:
		writeErrcode(w, 47001, "data format error")
	case tokErr != 0:
		writeErrcode(w, tokErr, "invalid credential, access_token is invalid or not latest")
	case f.foreignOpenID(watermark, req.OpenID):
		writeErrcode(w, 40003, "invalid openid")
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
			"watermark":       map[string]any{"timestamp": time.Now().Unix(), "appid": watermark},
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
	case f.foreignOpenID(f.callerApp(r), openid):
		writeErrcode(w, 40003, "invalid openid")
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
