package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"wxtodo/db/dbtest"
)

// Credentials the servers are started with (production mode) and the fake
// jscode2session checks.
const (
	benchAppID  = "wxbench_appid"
	benchSecret = "wxbench-secret"
)

// moduleRoot returns the directory of the wxtodo module.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Path}} {{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("go list -m: %w (run from inside the wxtodo module)", err)
	}
	path, dir, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
	if path != "wxtodo" || dir == "" {
		return "", fmt.Errorf("run from inside the wxtodo module (go list -m says %q)", out)
	}
	return dir, nil
}

// build compiles the package pkg of the module at root into out.
func build(ctx context.Context, root, pkg, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// startFakeWeChat starts an in-process jscode2session that answers every
// code at once with {"openid":"oid-"+code,"session_key":"sk"}.
func startFakeWeChat() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		code := q.Get("js_code")
		w.Header().Set("Content-Type", "text/plain") // as WeChat does
		switch {
		case r.URL.Path != "/sns/jscode2session":
			http.NotFound(w, r)
		case q.Get("appid") != benchAppID || q.Get("secret") != benchSecret:
			io.WriteString(w, `{"errcode":40013,"errmsg":"invalid appid"}`) //nolint:errcheck // test server
		case q.Get("grant_type") != "authorization_code" || code == "":
			io.WriteString(w, `{"errcode":40029,"errmsg":"invalid code"}`) //nolint:errcheck // test server
		default:
			b, _ := json.Marshal(map[string]string{"openid": "oid-" + code, "session_key": "sk"})
			w.Write(b) //nolint:errcheck // test server
		}
	}))
}

// process is a server under test, started from a binary.
type process struct {
	name    string
	url     string // http://127.0.0.1:port
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// startProcess runs bin with exactly the given environment (plus PATH,
// HOME, TMPDIR and the Go runtime's tuning variables, if set) and the
// address it is to listen on, and waits until readyPath answers 200.
func startProcess(ctx context.Context, name, bin, logPath, readyPath string, vars map[string]string) (*process, error) {
	port, err := dbtest.FreePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	env := []string{"ADDR=" + addr}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "GOMAXPROCS", "GOGC", "GOMEMLIMIT", "GODEBUG", "DB_MAX_CONNS"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = filepath.Dir(logPath)
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, url: "http://" + addr, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	if err := p.waitReady(ctx, readyPath, 2*time.Minute); err != nil {
		p.stop()
		return nil, fmt.Errorf("%s did not become ready: %w\n%s", name, err, p.logTail(20))
	}
	return p, nil
}

func (p *process) waitReady(ctx context.Context, path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+path, nil)
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body) //nolint:errcheck // draining
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited: %v", p.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return err
		}
	}
}

// pid is the server's process ID.
func (p *process) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM, waits up to 15s for a graceful exit, then kills the
// process. It is safe to call more than once.
func (p *process) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited already
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill() //nolint:errcheck // it may have exited already
		<-p.done
	}
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// logTail returns the last n lines the process wrote.
func (p *process) logTail(n int) string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// logLines counts the lines the process wrote (at LOG_LEVEL=error, each
// is a problem).
func (p *process) logLines() int {
	b, err := os.ReadFile(p.logPath)
	if err != nil || len(b) == 0 {
		return 0
	}
	return strings.Count(strings.TrimRight(string(b), "\n"), "\n") + 1
}
