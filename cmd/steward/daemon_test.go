package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile/status"
	"github.com/stewardhq/steward/sources/webhook"
)

// daemon is `steward run` started as its own process, the way operators
// run it: tests and benchmarks talk to it only over HTTP and signals.
type daemon struct {
	cmd  *exec.Cmd
	addr string
	// token is sent to /api/status: STEWARD_STATUS_TOKEN, else
	// STEWARD_API_TOKEN of env.
	token string
	log   *syncBuffer
	done  chan error
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

// buildSteward builds the steward binary of this package once per test.
func buildSteward(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "steward")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startDaemon starts bin with args (which begin with "run") in work and
// waits for /readyz.
func startDaemon(tb testing.TB, bin, work string, env []string, args ...string) *daemon {
	tb.Helper()
	d := spawnDaemon(tb, bin, work, env, "info", args...)
	d.waitFor(tb, "ready", 5*time.Minute, func(*status.Snapshot) bool { return d.ready() })
	return d
}

// spawnDaemon starts bin with args on a free loopback port, logging at
// logLevel, and kills it when the test ends if it still runs.
func spawnDaemon(tb testing.TB, bin, work string, env []string, logLevel string, args ...string) *daemon {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	d := &daemon{addr: l.Addr().String(), log: &syncBuffer{}, done: make(chan error, 1)}
	l.Close()
	args = append(args, "--listen", d.addr, "--cache-dir", filepath.Join(work, "cache"), "--log-level", logLevel)
	d.cmd = exec.Command(bin, args...)
	d.cmd.Dir = work
	d.cmd.Env = append(os.Environ(), env...)
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "STEWARD_STATUS_TOKEN="); ok {
			d.token = v
		} else if v, ok := strings.CutPrefix(kv, "STEWARD_API_TOKEN="); ok && d.token == "" {
			d.token = v
		}
	}
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	tb.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	return d
}

// ready reports whether /readyz answers 200.
func (d *daemon) ready() bool {
	resp, err := http.Get("http://" + d.addr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// status fetches /api/status.
func (d *daemon) status(tb testing.TB) *status.Snapshot {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+d.addr+"/api/status", nil)
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil // a status token the test did not hand over
	}
	var s status.Snapshot
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		tb.Fatalf("status: %v", err)
	}
	return &s
}

// metrics fetches /metrics, as Prometheus scrapes it.
func (d *daemon) metrics(tb testing.TB) string {
	tb.Helper()
	resp, err := http.Get("http://" + d.addr + "/metrics")
	if err != nil {
		tb.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("metrics: %v", err)
	}
	return string(body)
}

// waitFor polls until cond holds, failing with the daemon's log after
// timeout. cond gets the current status (nil when unreachable).
func (d *daemon) waitFor(tb testing.TB, what string, timeout time.Duration, cond func(*status.Snapshot) bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			tb.Fatalf("steward run exited (%v) while waiting for %s:\n%s", err, what, d.log)
		default:
		}
		if cond(d.status(tb)) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Fatalf("timed out waiting for %s; status %+v\n%s", what, d.status(tb), d.log)
}

// push announces a push through the generic webhook, signed with secret.
func (d *daemon) push(tb testing.TB, secret string) {
	tb.Helper()
	if code := d.hook(tb, secret); code != http.StatusAccepted {
		tb.Fatalf("webhook: status %d, want 202", code)
	}
}

// hook posts a push event to the generic webhook signed with secret and
// returns the status code.
func (d *daemon) hook(tb testing.TB, secret string) int {
	tb.Helper()
	body := []byte(`{"ref":"refs/heads/main"}`)
	req, _ := http.NewRequest(http.MethodPost, "http://"+d.addr+"/hooks/generic", bytes.NewReader(body))
	req.Header.Set("X-Steward-Signature", webhook.SignatureHeader([]byte(secret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("webhook: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// stop sends SIGTERM and returns the exit error (nil for exit 0).
func (d *daemon) stop(tb testing.TB) error {
	tb.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		tb.Fatal(err)
	}
	select {
	case err := <-d.done:
		return err
	case <-time.After(3 * time.Minute):
		tb.Fatalf("steward run did not stop after SIGTERM:\n%s", d.log)
		return nil
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
