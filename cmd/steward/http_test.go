package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/sources/webhook"
)

// A flood of slow senders on the webhook port, on loopback and bounded:
// each trickles its body one byte at a time. They are refused (503) past
// the in-flight cap before their body is read, or cut off (408) when the
// body timeout ends; none holds its connection for ever, and once they are
// gone a good webhook is served again.
func TestSlowWebhookFlood(t *testing.T) {
	secret := []byte("flood-secret")
	var pushes atomic.Int32
	hook := webhook.DefaultOptions()
	hook.Secret, hook.MaxInFlight, hook.BodyTimeout = secret, 4, 300*time.Millisecond
	hook.OnPush = func(context.Context, webhook.Push) { pushes.Add(1) }
	mux := http.NewServeMux()
	mux.Handle("/hooks/", webhook.New(hook))
	srv := newHTTPServer(mux, httpLimits{readTimeout: 5 * time.Second, idleTimeout: 5 * time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	addr := ln.Addr().String()

	const senders = 100
	statuses := make([]string, senders)
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() { statuses[i] = slowSender(t, addr) })
	}
	wg.Wait()
	counts := map[string]int{}
	for _, s := range statuses {
		counts[s]++
	}
	if counts["408"]+counts["503"] != senders || counts["408"] == 0 || counts["503"] == 0 {
		t.Fatalf("slow senders ended with %v, want each refused with 503 or cut off with 408 (both seen)", counts)
	}

	body := []byte(`{"ref":"refs/heads/main","after":"0123456789abcdef0123456789abcdef01234567","repository":{"clone_url":"https://git.example.com/r.git"}}`)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/hooks/github", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hub-Signature-256", webhook.SignatureHeader(secret, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || pushes.Load() != 1 {
		t.Fatalf("after the flood: %s, %d pushes", resp.Status, pushes.Load())
	}
}

// slowSender announces a 2000-byte body and sends a byte every 50ms, and
// returns the status the server answered with, or why there was none.
func slowSender(t *testing.T, addr string) string {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return "dial: " + err.Error()
	}
	defer conn.Close()
	// The test's own bound: a connection the server never ends fails here.
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintf(conn, "POST /hooks/github HTTP/1.1\r\nHost: %s\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=00\r\nContent-Type: application/json\r\nContent-Length: 2000\r\n\r\n", addr)
	stop := make(chan struct{})
	go func() {
		for range 2000 {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
		}
	}()
	defer close(stop)
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return "no response: " + err.Error()
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return "bad response: " + line
	}
	return f[1]
}
