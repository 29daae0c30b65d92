// Command fakewechat is a stand-in for WeChat's jscode2session endpoint, for
// running wxtodo in production mode on a machine without WeChat credentials
// (.ci/nginx-check.sh uses it). It is not a test of WeChat's behaviour: every
// non-empty code signs in, as the openid "oid-<code>".
//
//	fakewechat -addr 127.0.0.1:0 -addr-file /tmp/x/wechat.addr -appid wx_check -secret s3cret
//
// It answers GET /sns/jscode2session?appid=&secret=&js_code=&grant_type=authorization_code
// with {"openid":"...","session_key":"..."}, or with WeChat's
// {"errcode":40013,...} / {"errcode":40029,...} when the app credentials or
// the code are wrong. It listens on loopback only: wxtodo accepts an http
// WECHAT_API_BASE only for a loopback address.
package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "loopback host:port to listen on (port 0: any free port)")
	addrFile := flag.String("addr-file", "", "write the base URL (http://host:port) to this file once listening")
	appID := flag.String("appid", "", "the WECHAT_APPID wxtodo must send (empty: any)")
	secret := flag.String("secret", "", "the WECHAT_SECRET wxtodo must send (empty: any)")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("fakewechat: ")

	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Fatalf("-addr: %v", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		log.Fatalf("-addr: %q is not a loopback address", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	base := "http://" + ln.Addr().String()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /sns/jscode2session", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch {
		case (*appID != "" && q.Get("appid") != *appID) || (*secret != "" && q.Get("secret") != *secret):
			reply(w, map[string]any{"errcode": 40013, "errmsg": "invalid appid"})
		case q.Get("grant_type") != "authorization_code":
			reply(w, map[string]any{"errcode": 40002, "errmsg": "invalid grant_type"})
		case q.Get("js_code") == "":
			reply(w, map[string]any{"errcode": 40029, "errmsg": "invalid code"})
		default:
			reply(w, map[string]any{"openid": "oid-" + q.Get("js_code"), "session_key": sessionKey()})
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}

	if *addrFile != "" {
		// Write then rename, so a reader never sees half a URL.
		tmp := *addrFile + ".tmp"
		if err := os.WriteFile(tmp, []byte(base+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.Rename(tmp, *addrFile); err != nil {
			log.Fatal(err)
		}
	}
	log.Printf("listening on %s", base)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func reply(w http.ResponseWriter, v any) {
	// WeChat answers text/plain JSON; wxtodo must not depend on the type.
	w.Header().Set("Content-Type", "text/plain")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		fmt.Fprintln(os.Stderr, "fakewechat:", err)
	}
}

func sessionKey() string {
	b := make([]byte, 16)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read does not fail
	return base64.StdEncoding.EncodeToString(b)
}
