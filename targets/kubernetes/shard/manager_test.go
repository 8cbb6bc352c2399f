package shard

import (
	"context"
	"errors"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/stewardhq/steward/deploy/testenv/kube"
	"github.com/stewardhq/steward/reconcile"
)

// One kube-apiserver for the package; each test works in its own namespace.
var shared kube.Shared

func TestMain(m *testing.M) { os.Exit(shared.Main(m, kube.DefaultOptions())) }

// cuttable fails every request once cut: the replica is partitioned from
// the API server while the server itself runs on.
type cuttable struct {
	next http.RoundTripper
	cut  atomic.Bool
}

func (c *cuttable) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.cut.Load() {
		return nil, errors.New("partitioned")
	}
	return c.next.RoundTrip(r)
}

// replica is a running Manager with short Leases.
type replica struct {
	*Manager
	link   *cuttable
	cancel context.CancelFunc
	done   chan struct{}
}

func startReplica(t *testing.T, env *kube.Env, ns, id string, shards int) *replica {
	t.Helper()
	link := &cuttable{}
	cfg := rest.CopyConfig(env.Config)
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { link.next = rt; return link }
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.Client, opts.Namespace, opts.Identity, opts.Shards = c, ns, id, shards
	opts.LeaseDuration, opts.RenewPeriod, opts.Margin = 3*time.Second, 300*time.Millisecond, time.Second
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	r := &replica{Manager: m, link: link, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(r.done); m.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

func (r *replica) stop() {
	r.cancel()
	<-r.done
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// unitOn returns a unit name that lands on shard k of n.
func unitOn(k, n int) string {
	for i := 0; ; i++ {
		name := "unit-" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676%26))
		if Assign(name, n) == k {
			return name
		}
	}
}

// TestManagersShareShards: a replica alone takes every shard, a second one
// gets half of them, and a replica that stops hands its shards over at
// once. Holds are refused for units of shards held elsewhere.
func TestManagersShareShards(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	a := startReplica(t, env, ns, "a", 4)
	eventually(t, "a holding all 4 shards", func() bool { return len(a.Held()) == 4 })
	b := startReplica(t, env, ns, "b", 4)
	eventually(t, "a and b holding 2 shards each", func() bool { return len(a.Held()) == 2 && len(b.Held()) == 2 })
	for k := range 4 {
		u := unitOn(k, 4)
		if a.Owns(u) == b.Owns(u) {
			t.Fatalf("%s (shard %d): owned by a %v, by b %v; want exactly one", u, k, a.Owns(u), b.Owns(u))
		}
		other := a
		if a.Owns(u) {
			other = b
		}
		if _, _, err := other.Hold(context.Background(), u); !errors.Is(err, ErrNotOwner) {
			t.Errorf("hold of %s by the replica not owning it: %v, want ErrNotOwner", u, err)
		}
		eventually(t, "the owner of "+u+" known to both", func() bool { return a.Owner(u) == b.Owner(u) && a.Owner(u) != "" })
	}
	a.stop()
	eventually(t, "b holding all 4 shards after a stopped", func() bool { return len(b.Held()) == 4 })
	if a.LeaseRequests() == 0 {
		t.Error("no Lease requests counted")
	}
}

// TestHoldStopsBeforeExpiry: a replica cut off from the API server cancels
// its applies and refuses new ones before its Lease can expire, and
// another replica takes the shard only after it expired.
func TestHoldStopsBeforeExpiry(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	a := startReplica(t, env, ns, "a", 1)
	eventually(t, "a holding the shard", func() bool { return len(a.Held()) == 1 })
	held, release, err := a.Hold(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	a.link.cut.Store(true)
	<-held.Done()
	stopped := time.Now()
	c := kubernetes.NewForConfigOrDie(env.Config)
	lease, err := c.CoordinationV1().Leases(ns).Get(context.Background(), ShardLease(0), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	expires := lease.Spec.RenewTime.Add(time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second)
	if !stopped.Before(expires) {
		t.Errorf("the apply was cancelled at %s, not before the Lease expired at %s", stopped, expires)
	}
	if _, _, err := a.Hold(context.Background(), "web"); !errors.Is(err, ErrLapsing) {
		t.Errorf("hold after the Lease lapsed: %v, want ErrLapsing", err)
	}
	if a.Owns("web") {
		t.Error("a still owns web with its Lease lapsed")
	}
	b := startReplica(t, env, ns, "b", 1)
	eventually(t, "b taking the shard over", func() bool { return len(b.Held()) == 1 })
	if took := time.Now(); took.Before(expires) {
		t.Errorf("b took the shard at %s, before a's Lease expired at %s", took, expires)
	}
}

// TestPublishedStates: the state of a unit one replica reconciled reaches
// the others, which use it for dependencies.
func TestPublishedStates(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	a := startReplica(t, env, ns, "a", 1)
	eventually(t, "a holding the shard", func() bool { return len(a.Held()) == 1 })
	b := startReplica(t, env, ns, "b", 1)
	unit := &reconcile.Unit{Name: "db"}
	if rev, ready := b.External("db"); rev != "" || ready {
		t.Fatalf("External before anything was published: %q %v", rev, ready)
	}
	a.UnitReconciled(reconcile.UnitEvent{Unit: unit, Revision: "rev1", State: reconcile.StateReady})
	eventually(t, "b seeing db ready at rev1", func() bool { rev, ready := b.External("db"); return rev == "rev1" && ready })
	a.UnitReconciled(reconcile.UnitEvent{Unit: unit, Revision: "rev2", State: reconcile.StateFailed, Err: errors.New("boom at 10.0.0.1")})
	eventually(t, "b seeing db failed at rev2", func() bool { rev, ready := b.External("db"); return rev == "rev2" && !ready })
	if r, _ := b.Published("db"); r.Replica != "a" || r.Message != "failed" {
		t.Errorf("record %+v: want replica a and the error kept out", r)
	}
	// b does not own db: what it would publish is dropped, not queued.
	b.UnitReconciled(reconcile.UnitEvent{Unit: unit, Revision: "rev3", State: reconcile.StateReady})
	b.mu.Lock()
	_, queued := b.pending["db"]
	_, sent := b.lastSent["db"]
	b.mu.Unlock()
	if queued || sent {
		t.Errorf("a replica not owning db would publish its record (queued %v, sent %v)", queued, sent)
	}
	if rev, _ := a.External("db"); rev != "rev2" {
		t.Errorf("a replica not owning db overwrote its record: %s", rev)
	}
}
