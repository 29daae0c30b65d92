package main

// Faults of the whole process: SIGTERM under load, and a database that
// goes away and comes back.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"wxtodo/apitest"
	"wxtodo/db/dbtest"
	"wxtodo/secret"
	"wxtodo/wechat/wechattest"
)

// serverProcess is wxtodo running as a child process.
type serverProcess struct {
	*apitest.Client // through a proxy to the process's address
	cmd             *exec.Cmd
	url             string
	done            chan error
	log             *apitest.Logs
}

// startServerProcess runs the server (this test binary in server mode) with
// env and waits until it listens.
func startServerProcess(t testing.TB, env ...string) *serverProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return startBinary(t, exe, append([]string{"WXTODO_TEST_SERVE=1", "ADDR=127.0.0.1:0", "DATA_KEY=" + secret.NewKey()}, env...)...)
}

// startBinary runs a wxtodo binary with env added to this process's and
// waits until it listens.
func startBinary(t testing.TB, exe string, env ...string) *serverProcess {
	t.Helper()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProcess{cmd: cmd, done: make(chan error, 1), log: &apitest.Logs{}}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.log.Write([]byte(line + "\n")) //nolint:errcheck // in-memory
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" {
				addr <- rec.Addr
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill() //nolint:errcheck // may have exited
		}
		if t.Failed() {
			t.Logf("server log:\n%s", p.log.String())
		}
	})
	select {
	case a := <-addr:
		p.url = "http://" + a
		p.Client = apitest.NewClient(proxyTo(t, p.url))
	case err := <-p.done:
		t.Fatalf("server exited before listening: %v\n%s", err, p.log.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("server did not listen within 60s\n%s", p.log.String())
	}
	return p
}

// proxyTo forwards requests to the server at url, so that apitest's client
// reaches a process over the network. A request that does not get through
// is answered with a plain 502, which the client reports as an error.
func proxyTo(tb testing.TB, url string) http.Handler {
	tb.Helper()
	u, err := neturl.Parse(url)
	if err != nil {
		tb.Fatal(err)
	}
	p := httputil.NewSingleHostReverseProxy(u)
	p.Transport = &http.Transport{ResponseHeaderTimeout: 30 * time.Second}
	p.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
	return p
}

func TestGracefulShutdownKeepsAnsweredWrites(t *testing.T) {
	dbtest.EachDB(t, func(t *testing.T, url string) {
		wx := wechattest.New(t)
		p := startServerProcess(t, append(dbtest.Env(url), "WECHAT_APPID="+wechattest.AppID, "WECHAT_SECRET="+wechattest.Secret,
			"WECHAT_API_BASE="+wx.URL, "LOGIN_RATE_PER_MINUTE=0", "SHUTDOWN_TIMEOUT=20s", "LOG_LEVEL=info")...)
		token, _ := p.Login(t, "writer")

		var (
			mu       sync.Mutex
			answered []string
			sent     atomic.Int64
		)
		stopLoad := load(16, func(w, i int) {
			title := fmt.Sprintf("w%02d-%05d", w, i)
			sent.Add(1)
			r, err := p.Send(`mutation($t: String!) { createTodo(input: {title: $t}) { id title } }`, apitest.As(token), apitest.Vars(map[string]any{"t": title}))
			if err != nil {
				// Refused: the server has stopped accepting.
				time.Sleep(5 * time.Millisecond)
				return
			}
			if len(r.Errors) == 0 {
				mu.Lock()
				answered = append(answered, title)
				mu.Unlock()
			}
		})
		time.Sleep(700 * time.Millisecond)
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("server exit: %v, want a clean exit", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("server did not stop within 60s of SIGTERM")
		}
		stopLoad()
		if len(answered) == 0 {
			t.Fatalf("no write succeeded before SIGTERM (%d sent)", sent.Load())
		}

		store := dbtest.Open(t, url)
		titles := map[string]int{}
		var rows []string
		res, err := store.QueryContext(context.Background(), "SELECT title FROM todos")
		if err != nil {
			t.Fatal(err)
		}
		for res.Next() {
			var title string
			if err := res.Scan(&title); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, title)
			titles[title]++
		}
		res.Close()
		for _, a := range answered {
			if titles[a] != 1 {
				t.Errorf("write %q was answered with success, but is in the database %d times", a, titles[a])
			}
		}
		var todoCount int
		if err := store.QueryRowContext(context.Background(), "SELECT todo_count FROM users").Scan(&todoCount); err != nil {
			t.Fatal(err)
		}
		if todoCount != len(rows) {
			t.Errorf("half-written: users.todo_count %d, but %d todos", todoCount, len(rows))
		}
		t.Logf("%d writes sent, %d answered with success, %d in the database", sent.Load(), len(answered), len(rows))
	})
}

func TestDatabaseOutageAndRecovery(t *testing.T) {
	cluster, err := dbtest.StartCluster()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL is required under CI=true: %v", err)
		}
		t.Skipf("no PostgreSQL: %v", err)
	}
	defer cluster.Remove()
	// One user creates todos in a loop, past any per-user rate.
	in := newInstance(t, dbtest.NewSchema(t, cluster.URL), "REQUEST_TIMEOUT", "3s", "TODO_CREATES_PER_MINUTE", "0")
	token, _ := in.Login(t, "outage")
	create := `mutation($t: String!) { createTodo(input: {title: $t}) { id } }`
	title := func(s string) apitest.Option { return apitest.Vars(map[string]any{"t": s}) }
	in.OK(t, create, nil, apitest.As(token), title("before"))
	ready := func() int { return in.get(t, "/readyz", "").Code }
	if got := ready(); got != http.StatusOK {
		t.Fatalf("/readyz before the outage: got %d, want 200", got)
	}

	// Load runs through the whole outage.
	var (
		mu    sync.Mutex
		codes = map[string]int{}
	)
	stopLoad := load(4, func(w, i int) {
		r, err := in.Send(create, apitest.As(token), title(fmt.Sprintf("load-%d-%d", w, i)))
		mu.Lock()
		switch {
		case err != nil:
			codes["transport error"]++
		case len(r.Errors) == 0:
			codes["ok"]++
		default:
			codes[r.Code()]++
		}
		mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	})
	time.Sleep(200 * time.Millisecond)
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if r := in.Post(t, `{ me { id } }`, apitest.As(token)); r.Code() != "SERVICE_UNAVAILABLE" {
		t.Errorf("during the outage: got code %q, want SERVICE_UNAVAILABLE: %s", r.Code(), r.Raw)
	}
	if got := ready(); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: got %d, want 503", got)
	}
	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for ready() != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("/readyz did not recover within 30s of the database's return")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Recovered without a restart.
	in.OK(t, create, nil, apitest.As(token), title("after"))
	stopLoad()
	t.Logf("outcomes under load: %v", codes)
	for code, n := range codes {
		switch code {
		case "ok", "SERVICE_UNAVAILABLE", "TIMEOUT":
		default:
			t.Errorf("%d requests failed with %q; want only SERVICE_UNAVAILABLE or TIMEOUT during the outage", n, code)
		}
	}
	if codes["SERVICE_UNAVAILABLE"] == 0 {
		t.Errorf("no request under load saw SERVICE_UNAVAILABLE")
	}
	if strings.Contains(in.logs.String(), `"level":"ERROR"`) {
		t.Errorf("the outage logged internal errors:\n%s", in.logs.String())
	}
}

// load runs do(w, i) in a loop on each of workers goroutines (w is the
// worker, i counts its calls) until the returned stop is called; stop
// waits for the workers to finish.
func load(workers int, do func(w, i int)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				do(w, i)
			}
		})
	}
	return func() {
		close(done)
		wg.Wait()
	}
}

// TestShutdownTimeoutWaitsForHandlers: when SHUTDOWN_TIMEOUT runs out with
// a login still at WeChat, the connections close but the database stays
// open until the login has finished: it signs in, and nothing logs
// "database is closed".
func TestShutdownTimeoutWaitsForHandlers(t *testing.T) {
	url := dbtest.SQLiteURL(t)
	wx := wechattest.New(t)
	wx.On("late", wechattest.Reply{Delay: 1500 * time.Millisecond})
	p := startServerProcess(t, append(dbtest.Env(url), "WECHAT_APPID="+wechattest.AppID, "WECHAT_SECRET="+wechattest.Secret,
		"WECHAT_API_BASE="+wx.URL, "SHUTDOWN_TIMEOUT=200ms", "LOG_LEVEL=info")...)
	go p.Send(apitest.LoginMutation, apitest.Vars(map[string]any{"code": "late"})) //nolint:errcheck // its connection is cut
	for wx.Calls("late") == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("server did not stop within 30s of SIGTERM")
	}
	if logs := p.log.String(); strings.Contains(logs, "database is closed") || !strings.Contains(logs, "shutdown did not finish in time") {
		t.Errorf("want a shutdown past its timeout and no use of a closed database:\n%s", logs)
	}
	if n := dbtest.Count(t, dbtest.Open(t, url), "sessions", ""); n != 1 {
		t.Errorf("the login at WeChat during shutdown: %d sessions, want 1", n)
	}
}

// TestShutdownClosesSocketsWith1012: on SIGTERM the subscription sockets,
// hijacked connections http.Server.Shutdown does not see, close with
// 1012 (service restart) so clients reconnect, and the process exits at
// once instead of waiting SHUTDOWN_TIMEOUT for them.
func TestShutdownClosesSocketsWith1012(t *testing.T) {
	wx := wechattest.New(t)
	p := startServerProcess(t, append(dbtest.Env(dbtest.SQLiteURL(t)), "WECHAT_APPID="+wechattest.AppID, "WECHAT_SECRET="+wechattest.Secret,
		"WECHAT_API_BASE="+wx.URL, "SHUTDOWN_TIMEOUT=30s")...)
	token, _ := p.Login(t, "subscriber")
	var sockets []*apitest.Socket
	for _, proto := range []string{apitest.TransportWS, apitest.LegacyWS} {
		ws, err := apitest.Dial(t, p.url, proto, http.Header{"Authorization": {"Bearer " + token}})
		if err != nil {
			t.Fatal(err)
		}
		ws.MustInit(t, nil)
		ws.Subscribe(t, "1", `subscription { todoChanged { kind } }`)
		sockets = append(sockets, ws)
	}
	time.Sleep(200 * time.Millisecond) // the subscriptions start
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for _, ws := range sockets {
		if code, reason := ws.Closed(t, 10*time.Second); code != 1012 {
			t.Errorf("%s socket closed %d %q on shutdown, want 1012", ws.Protocol, code, reason)
		}
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("server exit: %v, want a clean exit", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server still running 20s after SIGTERM: the sockets held it")
	}
	t.Logf("stopped %s after SIGTERM", time.Since(start).Round(time.Millisecond))
}
