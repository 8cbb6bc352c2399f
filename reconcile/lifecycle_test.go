package reconcile_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine/local"
)

// closeLog records which targets and sources were closed.
type closeLog struct {
	mu     sync.Mutex
	closed []string
}

func (l *closeLog) add(name string) {
	l.mu.Lock()
	l.closed = append(l.closed, name)
	l.mu.Unlock()
}

func (l *closeLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.closed)
}

// closingTarget is a real local target that holds a (pretend) connection.
type closingTarget struct {
	reconcile.Target
	name string
	log  *closeLog
}

func (c *closingTarget) Close() error { c.log.add(c.name); return nil }

type closingSource struct {
	reconcile.Source
	log *closeLog
}

func (c *closingSource) Close() error { c.log.add("source"); return nil }

func closingFixture(t *testing.T, files map[string]string) (*fixture, *closeLog) {
	log := &closeLog{}
	var f *fixture
	f = newFixtureWith(t, files, func(o *reconcile.ReconcilerOptions) {
		o.Source = &closingSource{Source: o.Source, log: log}
		o.Targets = func(_ context.Context, name string, spec reconcile.TargetSpec) (reconcile.Target, error) {
			return &closingTarget{Target: local.NewTarget(name, filepath.Join(f.root, name), nil), name: name + ":" + spec.Local.Root, log: log}, nil
		}
	})
	return f, log
}

// A target the stack edits or drops is closed when the new revision becomes
// current; Close closes the rest and the source.
func TestReconcilerClosesEvictedTargetsAndEverythingOnClose(t *testing.T) {
	f, log := closingFixture(t, map[string]string{
		"steward.yaml": stack,
		"app/f.yaml":   file("conf", "/etc/app.conf", "v1"),
		"base/f.yaml":  file("motd", "/etc/motd", "base v1"),
	})
	if res := f.pass(reconcile.PassRequest{}); res.Failed() {
		t.Fatalf("first pass: %s", f.states(res))
	}
	if got := log.list(); len(got) != 0 {
		t.Fatalf("closed during a pass: %v", got)
	}
	// edge moves to another root: the old edge target is closed, core kept.
	f.commit("move edge", map[string]string{"steward.yaml": strings.Replace(stack, "{local: {root: edge}}", "{local: {root: edge2}}", 1)})
	if res := f.pass(reconcile.PassRequest{}); res.Failed() {
		t.Fatalf("second pass: %s", f.states(res))
	}
	if got := log.list(); !slices.Equal(got, []string{"edge:edge"}) {
		t.Fatalf("after the edit closed %v, want [edge:edge]", got)
	}
	if res := f.pass(reconcile.PassRequest{Units: []string{"app"}, Manual: true}); res.Failed() {
		t.Fatalf("app on the new edge: %s", f.states(res))
	}
	if err := f.r.Close(); err != nil {
		t.Fatal(err)
	}
	got := log.list()
	slices.Sort(got)
	if want := []string{"core:core", "edge:edge", "edge:edge2", "source"}; !slices.Equal(got, want) {
		t.Fatalf("after Close closed %v, want %v", got, want)
	}
}

// retryProbe is a real local target that records, per unit, whether its
// last plan was asked to apply a revision again that the target holds
// back after a failed health check (RetryingHeld).
type retryProbe struct {
	reconcile.Target
	mu    sync.Mutex
	retry map[string]bool
}

func (p *retryProbe) Plan(ctx context.Context, req reconcile.ApplyRequest) (*reconcile.Plan, error) {
	p.mu.Lock()
	p.retry[req.Unit.Name] = reconcile.RetryingHeld(ctx)
	p.mu.Unlock()
	return p.Target.Plan(ctx, req)
}

func (p *retryProbe) retried(unit string) (retried, planned bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	retried, planned = p.retry[unit]
	delete(p.retry, unit)
	return retried, planned
}

// A manual sync of a unit asks its targets to apply again a revision they
// hold back after it failed a health check (the machine target holds such
// a revision until a new one arrives or someone asks); an ordinary pass
// does not.
func TestManualSyncRetriesHeldRevisions(t *testing.T) {
	var f *fixture
	probes := map[string]*retryProbe{}
	f = newFixtureWith(t, map[string]string{
		"steward.yaml": stack,
		"app/f.yaml":   file("conf", "/etc/app.conf", "v1"),
		"base/f.yaml":  file("motd", "/etc/motd", "base v1"),
	}, func(o *reconcile.ReconcilerOptions) {
		o.Targets = func(_ context.Context, name string, spec reconcile.TargetSpec) (reconcile.Target, error) {
			p := &retryProbe{Target: local.NewTarget(name, filepath.Join(f.root, name), nil), retry: map[string]bool{}}
			probes[name] = p
			return p, nil
		}
	})
	if res := f.pass(reconcile.PassRequest{}); res.Failed() {
		t.Fatalf("first pass: %s", f.states(res))
	}
	probe := probes["edge"] // app's target in stack
	if retried, planned := probe.retried("app"); !planned || retried {
		t.Fatalf("ordinary pass: planned %v, retrying held revisions %v; want planned, not retrying", planned, retried)
	}
	if res := f.pass(reconcile.PassRequest{Units: []string{"app"}, Manual: true}); res.Failed() {
		t.Fatalf("manual pass: %s", f.states(res))
	}
	if retried, planned := probe.retried("app"); !planned || !retried {
		t.Fatalf("manual sync of app: planned %v, retrying held revisions %v; want both", planned, retried)
	}
}

// Syncs requested while one is queued join it: a burst of requests for one
// unit costs one manual pass, not one each.
func TestRequestSyncCoalesces(t *testing.T) {
	passes := &passCounter{}
	f := newFixtureWith(t, map[string]string{
		"steward.yaml": stack,
		"app/f.yaml":   file("conf", "/etc/app.conf", "v1"),
		"base/f.yaml":  file("motd", "/etc/motd", "base v1"),
	}, func(o *reconcile.ReconcilerOptions) { o.Observer = reconcile.Observers(o.Observer, passes) })
	f.pass(reconcile.PassRequest{}) // everything applied once
	for range 2000 {
		f.r.RequestSync([]string{"base"})
		f.r.RequestSync([]string{"app"})
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.r.Run(ctx) }()
	// Run takes the one queued request (a manual pass of app and base),
	// then the trigger left behind (an ordinary pass, nothing due).
	passes.wait(3)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := passes.applied(); n != 2 {
		t.Fatalf("4000 requests applied units %d times, want 2 (app and base once)", n)
	}
	if n := passes.count(); n != 3 {
		t.Fatalf("%d passes, want 3 (the first, one manual, one ordinary)", n)
	}
}

type passCounter struct {
	mu      sync.Mutex
	cond    *sync.Cond
	passes  int
	applies int
}

func (p *passCounter) SourceChecked(reconcile.SourceEvent) {}

func (p *passCounter) UnitReconciled(ev reconcile.UnitEvent) {
	p.mu.Lock()
	if ev.ChangeSet != nil && p.passes > 0 {
		p.applies++
	}
	p.mu.Unlock()
}

func (p *passCounter) PassCompleted(reconcile.PassEvent) {
	p.mu.Lock()
	p.passes++
	p.mu.Unlock()
	p.signal()
}

func (p *passCounter) signal() {
	p.mu.Lock()
	if p.cond != nil {
		p.cond.Broadcast()
	}
	p.mu.Unlock()
}

func (p *passCounter) wait(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cond == nil {
		p.cond = sync.NewCond(&p.mu)
	}
	for p.passes < n {
		p.cond.Wait()
	}
}

func (p *passCounter) count() int   { p.mu.Lock(); defer p.mu.Unlock(); return p.passes }
func (p *passCounter) applied() int { p.mu.Lock(); defer p.mu.Unlock(); return p.applies }

// objectProbe records the objects each Plan was handed, by unit.
type objectProbe struct {
	reconcile.Target
	mu   sync.Mutex
	seen map[string][]*reconcile.Object
}

func (p *objectProbe) Plan(ctx context.Context, req reconcile.ApplyRequest) (*reconcile.Plan, error) {
	p.mu.Lock()
	p.seen[req.Unit.Name] = append(p.seen[req.Unit.Name], req.Objects...)
	p.mu.Unlock()
	return p.Target.Plan(ctx, req)
}

// readingProbe is objectProbe over a target that only reads its objects.
type readingProbe struct{ *objectProbe }

func (readingProbe) ReadsObjectsOnly() {}

// A target that only reads its objects (reconcile.ObjectReader) is handed
// the generation's own objects on every pass; any other target gets fresh
// copies, which it may default in place.
func TestObjectReaderGetsTheGenerationsObjects(t *testing.T) {
	probes := map[string]*objectProbe{}
	var f *fixture
	f = newFixtureWith(t, map[string]string{
		"steward.yaml": stack,
		"app/f.yaml":   file("conf", "/etc/app.conf", "v1"),
		"base/f.yaml":  file("motd", "/etc/motd", "base v1"),
	}, func(o *reconcile.ReconcilerOptions) {
		o.Targets = func(_ context.Context, name string, spec reconcile.TargetSpec) (reconcile.Target, error) {
			p := &objectProbe{Target: local.NewTarget(name, filepath.Join(f.root, name), nil), seen: map[string][]*reconcile.Object{}}
			probes[name] = p
			if name == "core" {
				return readingProbe{p}, nil
			}
			return p, nil
		}
	})
	for range 2 {
		if res := f.pass(reconcile.PassRequest{Manual: true}); res.Failed() {
			t.Fatalf("pass: %s", f.states(res))
		}
	}
	for name, p := range probes {
		for unit, objs := range p.seen {
			if len(objs) != 2 {
				t.Fatalf("target %s, unit %s: planned %d objects in two passes, want 2", name, unit, len(objs))
			}
			if same := objs[0] == objs[1]; same != (name == "core") {
				t.Errorf("target %s, unit %s: the same object in both passes = %v", name, unit, same)
			}
		}
	}
	if len(probes) != 2 {
		t.Fatalf("targets resolved: %v", probes)
	}
}
