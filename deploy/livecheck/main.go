// Command livecheck proves live updates through a deployment: it opens a
// graphql-transport-ws socket to URL's /query (wss:// through nginx's TLS),
// signs in with connection_init, subscribes to todoChanged, stays idle
// for -idle (past the proxy's ordinary read timeout, answering pings),
// then creates a todo over HTTPS and waits for its CREATED event.
// .ci/nginx-check.sh runs it.
//
//	livecheck -url https://localhost:8443 -cacert ca.pem -token <token> -idle 30s
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/coder/websocket"
)

func main() {
	url := flag.String("url", "", "the site's base URL (https://host:port)")
	cacert := flag.String("cacert", "", "PEM file of the CA that signed the site's certificate")
	token := flag.String("token", "", "a session token")
	idle := flag.Duration("idle", 30*time.Second, "how long the socket stays idle before the change")
	flag.Parse()
	if err := run(*url, *cacert, *token, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "livecheck:", err)
		os.Exit(1)
	}
}

type message struct {
	Type    string          `json:"type"`
	ID      string          `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func run(base, cacert, token string, idle time.Duration) error {
	pem, err := os.ReadFile(cacert)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return errors.New("no certificate in " + cacert)
	}
	// WebSocket runs over HTTP/1.1 (nginx has no WebSocket over HTTP/2).
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}},
	}}
	ctx, cancel := context.WithTimeout(context.Background(), idle+30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "wss"+strings.TrimPrefix(base, "https")+"/query", &websocket.DialOptions{
		HTTPClient: client, Subprotocols: []string{"graphql-transport-ws"},
	})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.CloseNow()
	if conn.Subprotocol() != "graphql-transport-ws" {
		return fmt.Errorf("subprotocol %q, want graphql-transport-ws", conn.Subprotocol())
	}
	send := func(m message) error {
		b, _ := json.Marshal(m)
		return conn.Write(ctx, websocket.MessageText, b)
	}
	// next returns the next message that is no ping, answering pings.
	pings := 0
	next := func() (message, error) {
		for {
			_, b, err := conn.Read(ctx)
			if err != nil {
				return message{}, err
			}
			var m message
			if err := json.Unmarshal(b, &m); err != nil {
				return message{}, fmt.Errorf("message %s: %w", b, err)
			}
			if m.Type != "ping" {
				return m, nil
			}
			pings++
			if err := send(message{Type: "pong"}); err != nil {
				return message{}, err
			}
		}
	}
	payload, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	if err := send(message{Type: "connection_init", Payload: payload}); err != nil {
		return err
	}
	if m, err := next(); err != nil || m.Type != "connection_ack" {
		return fmt.Errorf("connection_init: got %q (%v), want connection_ack", m.Type, err)
	}
	sub, _ := json.Marshal(map[string]string{"query": "subscription { todoChanged { kind id todo { title } } }"})
	if err := send(message{Type: "subscribe", ID: "1", Payload: sub}); err != nil {
		return err
	}
	// Stay idle, answering pings, then make a change.
	events := make(chan message, 1)
	failed := make(chan error, 1)
	go func() {
		m, err := next()
		if err != nil {
			failed <- err
			return
		}
		events <- m
	}()
	select {
	case m := <-events:
		return fmt.Errorf("got %s %s while idle, want nothing", m.Type, m.Payload)
	case err := <-failed:
		return fmt.Errorf("the socket failed while idle: %w", err)
	case <-time.After(idle):
	}
	title := fmt.Sprintf("livecheck %d", time.Now().UnixNano())
	body, _ := json.Marshal(map[string]any{"query": `mutation($t: String!) { createTodo(input: {title: $t}) { id } }`, "variables": map[string]string{"t": title}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("createTodo: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("createTodo: HTTP %d", resp.StatusCode)
	}
	select {
	case m := <-events:
		if m.Type != "next" || !strings.Contains(string(m.Payload), `"CREATED"`) || !strings.Contains(string(m.Payload), title) {
			return fmt.Errorf("got %s %s, want the CREATED event of %q", m.Type, m.Payload, title)
		}
	case err := <-failed:
		return fmt.Errorf("the socket failed: %w", err)
	case <-time.After(10 * time.Second):
		return errors.New("no event within 10s of the change")
	}
	fmt.Printf("subscription over wss: idle %s (%d pings answered), then the CREATED event of %q\n", idle, pings, title)
	return conn.Close(websocket.StatusNormalClosure, "")
}
