package ssh

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
)

// TestPoolOneConnectionPerRun: with a Pool, the plan and the apply of a
// cold run share one SSH connection per host.
func TestPoolOneConnectionPerRun(t *testing.T) {
	hosts := startHosts(t, 3)
	f := newFleet(t, hosts, 3)
	f.usePool()
	cs := f.sync(t, request("r1", true, objects(t, webObjects)...))
	if cs.Count(reconcile.Created)+cs.Count(reconcile.Configured) != 4*len(hosts) {
		t.Fatalf("cold run: %+v", cs.Changes)
	}
	for _, h := range hosts {
		if got := h.Accepted(); got != 1 {
			t.Errorf("%s: %d connections for plan+apply, want 1", h.Addr, got)
		}
	}
	if cs := f.sync(t, request("r1", true, objects(t, webObjects)...)); cs.HasChanges() {
		t.Fatalf("no-op run: %+v", cs.Changes)
	}
	for _, h := range hosts {
		if got := h.Accepted(); got != 2 {
			t.Errorf("%s: %d connections after two runs, want 2", h.Addr, got)
		}
	}
}

func TestPoolConcurrentDialsAndClose(t *testing.T) {
	h := startHosts(t, 1)[0]
	pool := NewPool(func(ctx context.Context, host string) (machine.Transport, error) {
		return Dial(ctx, hostConfig(h, nil))
	})
	var wg sync.WaitGroup
	trs := make([]machine.Transport, 8)
	errs := make([]error, 8)
	for i := range trs {
		wg.Go(func() { trs[i], errs[i] = pool.Dial(context.Background(), h.Addr) })
	}
	wg.Wait()
	for i := range trs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		trs[i].Close() // a no-op: the pool owns the connection
		if _, err := trs[i].Run(context.Background(), machine.Cmd{Argv: []string{"true"}}); err != nil {
			t.Fatalf("pooled transport unusable after its Close: %v", err)
		}
	}
	if got := h.Accepted(); got != 1 {
		t.Fatalf("%d connections for 8 concurrent dials, want 1", got)
	}
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := trs[0].Stat(context.Background(), h.Root); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Pool.Close: err = %v, want ErrClosed", err)
	}
	if _, err := pool.Dial(context.Background(), h.Addr); !errors.Is(err, ErrClosed) {
		t.Fatalf("Dial after Close: err = %v", err)
	}
}

// TestTargetCloseClosesPool: a machine target given its pool as
// Config.Connections closes the hosts' connections when it is closed, as
// the reconciler does when a stack edit replaces the target.
func TestTargetCloseClosesPool(t *testing.T) {
	h := startHosts(t, 1)[0]
	pool := NewPool(func(ctx context.Context, host string) (machine.Transport, error) {
		return Dial(ctx, hostConfig(h, nil))
	})
	cfg := machine.DefaultConfig(h.Addr)
	cfg.Connections = pool
	tgt := machine.New(cfg, pool.Dial)
	p, err := tgt.Plan(t.Context(), reconcile.ApplyRequest{Unit: &reconcile.Unit{Name: "u"}, Revision: "r1"})
	if err != nil || p.HasChanges() {
		t.Fatalf("plan: %v %+v", err, p)
	}
	if err := tgt.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Dial(t.Context(), h.Addr); !errors.Is(err, ErrClosed) {
		t.Fatalf("dial after Close: %v, want ErrClosed", err)
	}
}

// TestPooledHostsListInventories: through the daemon's pool, a host's
// inventories are listed (the pool's wrapper once hid the transport's
// ReadDir, so removed units were never collected and suspensions never
// read on SSH targets).
func TestPooledHostsListInventories(t *testing.T) {
	hosts := startHosts(t, 1)
	f := newFleet(t, hosts, 1)
	f.usePool()
	u := stackUnit("shop", "a", true)
	f.sync(t, reconcile.ApplyRequest{Unit: u, Revision: "r1", Objects: objects(t, fileObj("a1", "/srv/a1"))})
	f.pool = NewPool(f.rawDial)
	defer f.pool.Close()
	invs, err := f.target.Inventories(t.Context(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != 1 || invs[0].Unit != "a" || !invs[0].Prune {
		t.Fatalf("inventories through the pool: %+v", invs)
	}
	if err := f.target.SetSuspended(t.Context(), u, true); err != nil {
		t.Fatal(err)
	}
	if invs, err := f.target.Inventories(t.Context(), "shop"); err != nil || len(invs) != 1 || !invs[0].Suspended {
		t.Fatalf("suspension through the pool: %+v, %v", invs, err)
	}
}
