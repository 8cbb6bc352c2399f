package notify

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hangingServer accepts requests and never answers until the test ends.
func hangingServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv, &hits
}

// lockedBuffer is a log sink safe for the dispatcher's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func testLogger() (*slog.Logger, *lockedBuffer) {
	var buf lockedBuffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func github(t *testing.T, base string) *GitHub {
	o := DefaultCommitStatusOptions()
	o.BaseURL, o.Repo, o.Token = base, "acme/estate", token
	g, err := NewGitHub(o)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func webhook(t *testing.T, u string) *Webhook {
	o := DefaultWebhookOptions()
	o.URL = u
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestDispatcherHangingEndpoint: a notifier whose endpoint hangs times out
// on every event, is logged, and neither blocks Notify nor delays the
// other notifier's deliveries.
func TestDispatcherHangingEndpoint(t *testing.T) {
	hang, hangHits := hangingServer(t)
	fast := newAPIServer(t, http.StatusOK, "")
	log, logs := testLogger()
	opts := DefaultDispatcherOptions()
	opts.Timeout = 200 * time.Millisecond
	opts.Logger = log
	d := NewDispatcher(opts, github(t, hang.URL), webhook(t, fast.URL))

	for _, k := range []Kind{Progressing, Applied, DriftCorrected} {
		// The hanging server has not answered anything yet, and never will
		// before the test ends: returning here proves Notify did not wait.
		if err := d.Notify(t.Context(), sampleEvent(k)); err != nil {
			t.Fatalf("notify %s: %v", k, err)
		}
	}
	if err := d.Close(t.Context()); err != nil {
		t.Fatalf("close: %v", err)
	}

	if n := len(fast.requests()); n != 3 {
		t.Errorf("fast notifier got %d events, want 3", n)
	}
	if n := hangHits.Load(); n != 3 {
		t.Errorf("hanging endpoint saw %d attempts, want 3 (one per event, each timed out)", n)
	}
	out := logs.String()
	timeouts, failures := 0, 0
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "notification failed") {
			failures++
			if strings.Contains(line, `msg="notification failed: timed out"`) && strings.Contains(line, "notifier=github") &&
				strings.Contains(line, "context deadline exceeded") {
				timeouts++
			}
		}
	}
	if timeouts != 3 || failures != 3 {
		t.Errorf("%d timeout lines for github and %d failures in all, want 3 and 3:\n%s", timeouts, failures, out)
	}
	if strings.Contains(out, token) {
		t.Error("token in the logs")
	}
	// Order per notifier is kept: progressing, then applied, then drift.
	var kinds []string
	for _, r := range fast.requests() {
		kinds = append(kinds, r.Header.Get("X-Steward-Event"))
	}
	if got := strings.Join(kinds, ","); got != "progressing,applied,drift-corrected" {
		t.Errorf("delivery order %s", got)
	}
}

// TestDispatcherQueueFull: a bounded queue drops (and reports) what does
// not fit rather than blocking; every event is either attempted or dropped.
func TestDispatcherQueueFull(t *testing.T) {
	hang, hits := hangingServer(t)
	log, logs := testLogger()
	opts := DispatcherOptions{QueueSize: 1, Timeout: 100 * time.Millisecond, Logger: log}
	d := NewDispatcher(opts, github(t, hang.URL))
	const events = 6
	dropped := 0
	for range events {
		err := d.Notify(t.Context(), sampleEvent(Applied))
		switch {
		case errors.Is(err, ErrQueueFull):
			dropped++
			if !strings.HasPrefix(err.Error(), "github: ") {
				t.Errorf("drop error %q does not name the notifier", err)
			}
		case err != nil:
			t.Fatal(err)
		}
	}
	if dropped == 0 {
		t.Errorf("no event dropped with a queue of 1 and a hanging endpoint")
	}
	if err := d.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := int(hits.Load()) + dropped; got != events {
		t.Errorf("attempted %d + dropped %d = %d, want %d", hits.Load(), dropped, got, events)
	}
	if n := strings.Count(logs.String(), "notification dropped: queue full"); n != dropped {
		t.Errorf("%d drop log lines, want %d", n, dropped)
	}
}

// TestDispatcherCloseGivesUp: Close bounded by its context cancels the
// delivery in flight, drops the rest and stops every goroutine.
func TestDispatcherCloseGivesUp(t *testing.T) {
	hang, hits := hangingServer(t)
	log, _ := testLogger()
	opts := DispatcherOptions{QueueSize: 8, Timeout: time.Hour, Logger: log}
	d := NewDispatcher(opts, github(t, hang.URL))
	for range 3 {
		if err := d.Notify(t.Context(), sampleEvent(Applied)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := d.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("close = %v, want a deadline error", err)
	}
	// Close returned, so its goroutines are gone: nothing more is sent.
	if n := hits.Load(); n != 1 {
		t.Errorf("%d attempts, want 1: queued events must be dropped once Close gives up", n)
	}
	if err := d.Notify(t.Context(), sampleEvent(Applied)); !errors.Is(err, ErrClosed) {
		t.Errorf("notify after close = %v, want ErrClosed", err)
	}
	if err := d.Close(t.Context()); err != nil {
		t.Errorf("second close = %v", err)
	}
}

func TestDispatcherConcurrentNotifyAndClose(t *testing.T) {
	fast := newAPIServer(t, http.StatusOK, "")
	log, _ := testLogger()
	d := NewDispatcher(DispatcherOptions{Logger: log}, webhook(t, fast.URL))
	var wg sync.WaitGroup
	var sent atomic.Int32
	for range 4 {
		wg.Go(func() {
			for range 50 {
				if d.Notify(t.Context(), sampleEvent(Applied)) == nil {
					sent.Add(1)
				}
			}
		})
	}
	wg.Go(func() { _ = d.Close(t.Context()) })
	wg.Wait()
	// Everything accepted before Close was delivered, nothing after.
	if got, want := len(fast.requests()), int(sent.Load()); got != want {
		t.Errorf("delivered %d, accepted %d", got, want)
	}
}

func TestDispatcherNoNotifiers(t *testing.T) {
	d := NewDispatcher(DefaultDispatcherOptions())
	if err := d.Notify(t.Context(), Event{Kind: Applied, Unit: "u"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}
