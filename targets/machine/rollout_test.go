package machine_test

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
	"github.com/stewardhq/steward/targets/machine/local"
)

// faulty wraps a real local transport and makes its writes fail: the host
// "made to fail" of the rollout tests.
type faulty struct {
	machine.Transport
}

var errInjected = errors.New("disk full (injected)")

func (f *faulty) WriteFile(context.Context, string, io.Reader, machine.FileAttrs) error {
	return errInjected
}

func intOrPct(t *testing.T, s string) reconcile.IntOrPercent {
	var v reconcile.IntOrPercent
	if s == "" {
		return v
	}
	if err := v.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRolloutBreaker(t *testing.T) {
	hosts := []string{"h1", "h2", "h3", "h4", "h5"}
	tests := []struct {
		name       string
		batch, max string
		fail       []string
		want       map[string]reconcile.Action
		skipMsg    string
	}{
		{"trips after first batch", "2", "0", []string{"h2"},
			map[string]reconcile.Action{"h1": "created", "h2": "failed", "h3": "skipped", "h4": "skipped", "h5": "skipped"},
			"rollout stopped: 1 of 5 hosts failed, more than maxFailures 0"},
		{"tolerates one", "2", "1", []string{"h2", "h3"},
			map[string]reconcile.Action{"h1": "created", "h2": "failed", "h3": "failed", "h4": "created", "h5": "skipped"},
			"rollout stopped: 2 of 5 hosts failed, more than maxFailures 1"},
		{"percentages", "40%", "20%", []string{"h2", "h3"},
			map[string]reconcile.Action{"h1": "created", "h2": "failed", "h3": "failed", "h4": "created", "h5": "skipped"},
			"rollout stopped: 2 of 5 hosts failed, more than maxFailures 1"},
		{"failure in last batch", "1", "0", []string{"h5"},
			map[string]reconcile.Action{"h1": "created", "h2": "created", "h3": "created", "h4": "created", "h5": "failed"}, ""},
		{"one batch by default", "", "", []string{"h2"},
			map[string]reconcile.Action{"h1": "created", "h2": "failed", "h3": "created", "h4": "created", "h5": "created"}, ""},
		{"within budget", "1", "40%", []string{"h1", "h3"},
			map[string]reconcile.Action{"h1": "failed", "h2": "created", "h3": "failed", "h4": "created", "h5": "created"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, hosts...)
			r.cfg.Rollout = reconcile.Rollout{Batch: intOrPct(t, tc.batch), MaxFailures: intOrPct(t, tc.max)}
			r.build()
			r.wrap = func(host string, tr machine.Transport) machine.Transport {
				if slices.Contains(tc.fail, host) {
					return &faulty{tr}
				}
				return tr
			}
			cs := r.sync(request("u", "r1", false, fileObj(t, "motd", "/etc/motd", "hi\n", "")))
			if len(cs.Changes) != len(hosts) {
				t.Fatalf("want one change per host, got %+v", cs.Changes)
			}
			for _, c := range cs.Changes {
				if c.Action != tc.want[c.Host] {
					t.Errorf("%s: %s, want %s (%s)", c.Host, c.Action, tc.want[c.Host], c.Message)
				}
				switch c.Action {
				case reconcile.Skipped:
					if c.Message != tc.skipMsg {
						t.Errorf("%s skipped with %q, want %q", c.Host, c.Message, tc.skipMsg)
					}
					if ents, err := os.ReadDir(r.root(c.Host)); err != nil || len(ents) > 0 {
						t.Errorf("%s: skipped host was touched", c.Host)
					}
				case reconcile.Failed:
					if !strings.Contains(c.Message, errInjected.Error()) {
						t.Errorf("%s failed with %q", c.Host, c.Message)
					}
				case reconcile.Created:
					if r.file(c.Host, "etc/motd") != "hi\n" {
						t.Errorf("%s: file not written", c.Host)
					}
				}
			}
		})
	}
}

// counting counts connections: open ones now, the most at once, and dials.
type counting struct {
	mu         sync.Mutex
	open, peak int
	dials      atomic.Int32
}

type countedTransport struct {
	machine.Transport
	c    *counting
	once sync.Once
}

func (c *countedTransport) WriteFile(ctx context.Context, p string, r io.Reader, a machine.FileAttrs) error {
	time.Sleep(20 * time.Millisecond) // widen the window in which hosts overlap
	return c.Transport.WriteFile(ctx, p, r, a)
}

func (c *countedTransport) Close() error {
	c.once.Do(func() {
		c.c.mu.Lock()
		c.c.open--
		c.c.mu.Unlock()
	})
	return c.Transport.Close()
}

func TestParallelLimitAndOneConnectionPerHost(t *testing.T) {
	hosts := []string{"a", "b", "c", "d", "e", "f", "g"}
	r := newRig(t, hosts...)
	r.cfg.Parallel = 3
	r.build()
	cnt := &counting{}
	r.wrap = func(_ string, tr machine.Transport) machine.Transport {
		cnt.dials.Add(1)
		cnt.mu.Lock()
		cnt.open++
		cnt.peak = max(cnt.peak, cnt.open)
		cnt.mu.Unlock()
		return &countedTransport{Transport: tr, c: cnt}
	}
	objs := []*reconcile.Object{
		fileObj(t, "a", "/etc/a", "a\n", ""), fileObj(t, "b", "/etc/b", "b\n", ""),
		obj(t, hdr+"kind: Directory\nmetadata: {name: d}\nspec: {path: /srv/d}"),
	}
	cs := r.sync(request("u", "r1", false, objs...))
	if n := cs.Count(reconcile.Created); n != 3*len(hosts) {
		t.Fatalf("created %d, want %d: %+v", n, 3*len(hosts), cs.Changes)
	}
	if cnt.peak > 3 {
		t.Fatalf("%d hosts at once, more than Parallel 3", cnt.peak)
	}
	if got := int(cnt.dials.Load()); got != 2*len(hosts) {
		t.Fatalf("%d dials for plan+apply of %d hosts, want one each", got, len(hosts))
	}
	if cnt.open != 0 {
		t.Fatalf("%d connections left open", cnt.open)
	}
	// A no-op run plans (one dial per host) and applies without connecting.
	cnt.dials.Store(0)
	cs = r.sync(request("u", "r1", false, objs...))
	if cs.HasChanges() || int(cnt.dials.Load()) != len(hosts) {
		t.Fatalf("no-op run: changes %v, %d dials (want %d)", cs.HasChanges(), cnt.dials.Load(), len(hosts))
	}
	t.Logf("peak concurrent hosts %d (limit 3)", cnt.peak)
}

func TestUnreachableHostFailsOnlyItself(t *testing.T) {
	r := newRig(t, "h1", "h2")
	local := local.Dialer(r.roots, nil)
	r.target = machine.New(r.cfg, func(ctx context.Context, host string) (machine.Transport, error) {
		if host == "h2" {
			return nil, errors.New("connection refused")
		}
		return local(ctx, host)
	})
	cs := r.sync(request("u", "r1", false, fileObj(t, "motd", "/etc/motd", "hi\n", "")))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/File/motd created", "h2 machine.steward.dev/File/motd failed")
	if m := cs.Changes[1].Message; m != "plan: connect: connection refused" {
		t.Fatalf("message %q", m)
	}
}

// cancelling cancels a context once it wrote a file.
type cancelling struct {
	machine.Transport
	cancel func()
}

func (c cancelling) WriteFile(ctx context.Context, p string, r io.Reader, a machine.FileAttrs) error {
	err := c.Transport.WriteFile(ctx, p, r, a)
	if strings.HasSuffix(p, "/etc/a") {
		c.cancel()
	}
	return err
}

// TestApplyAbortedIsAnError: failures are data, but a run that is stopped
// (ctx cancelled between batches) returns an error with the change set of
// what it did: the first host applied, the second not touched.
func TestApplyAbortedIsAnError(t *testing.T) {
	r := newRig(t, "h1", "h2")
	r.cfg.Rollout = reconcile.Rollout{Batch: reconcile.IntOrPercent{N: 1}}
	r.build()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r.wrap = func(host string, tr machine.Transport) machine.Transport {
		return cancelling{Transport: tr, cancel: cancel}
	}
	p := r.plan(request("u", "r1", false, fileObj(t, "a", "/etc/a", "a\n", "")))
	cs, err := r.target.Apply(ctx, p)
	if !errors.Is(err, context.Canceled) || cs == nil {
		t.Fatalf("apply: %v, change set %v", err, cs)
	}
	wantActions(t, cs.Changes, "h1 machine.steward.dev/File/a created", "h2 machine.steward.dev/File/a skipped")
	if m := cs.Changes[1].Message; m != "not applied: context canceled" {
		t.Fatalf("message %q", m)
	}
}

// TestStoppedRolloutKeepsUnchanged: on hosts the breaker leaves alone, what
// had something to do is skipped, and what was already as declared stays
// unchanged (it was not skipped: there was nothing to do).
func TestStoppedRolloutKeepsUnchanged(t *testing.T) {
	r := newRig(t, "h1", "h2")
	r.cfg.Rollout = reconcile.Rollout{Batch: reconcile.IntOrPercent{N: 1}}
	r.build()
	r.write("h2", "etc/same", "s\n", 0o644)
	objs := []*reconcile.Object{
		fileObj(t, "same", "/etc/same", "s\n", ""),
		obj(t, hdr+"kind: Command\nmetadata: {name: fails}\nspec: {run: [\"false\"], creates: /never}"),
	}
	r.write("h1", "etc/same", "s\n", 0o644)
	cs := r.sync(request("u", "r1", false, objs...))
	wantActions(t, cs.Changes,
		"h1 machine.steward.dev/File/same unchanged", "h1 machine.steward.dev/Command/fails failed",
		"h2 machine.steward.dev/File/same unchanged", "h2 machine.steward.dev/Command/fails skipped")
}
