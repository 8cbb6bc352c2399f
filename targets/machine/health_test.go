package machine_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
	"github.com/stewardhq/steward/targets/machine/local"
)

// confAndReload is a File and a Command that runs when it changes,
// appending a line to <root>/etc/reloads of the first host (the pending
// action "Command/reload run").
func confAndReload(t *testing.T, r *rig, conf string, extra ...*reconcile.Object) []*reconcile.Object {
	// Hosts run in parallel: the shared log's directory exists before any.
	if err := os.MkdirAll(filepath.Join(r.root(""), "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	return append([]*reconcile.Object{
		fileObj(t, "conf", "/etc/web.conf", conf, ""),
		obj(t, hdr+"kind: Command\nmetadata: {name: reload}\nspec: {run: [sh, -c, 'echo ran >> \"$R/etc/reloads\"'], env: {R: "+quote(r.root(""))+"}, watches: [File/conf]}"),
	}, extra...)
}

// reloads counts the reload runs recorded under host's root.
func reloads(r *rig, host string) int {
	b, _ := os.ReadFile(filepath.Join(r.root(host), "etc/reloads"))
	return strings.Count(string(b), "ran\n")
}

func inventoryOf(t *testing.T, r *rig, host string) *machine.Inventory {
	t.Helper()
	tr, err := local.NewTransport(host, r.root(host), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	inv, err := machine.ReadInventory(t.Context(), tr, "/", "u")
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

func TestHealthRollback(t *testing.T) {
	var mu sync.Mutex
	unhealthy := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if unhealthy[strings.TrimPrefix(req.URL.Path, "/")] {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	r := newRig(t, "h1", "h2")
	health := &reconcile.Health{HTTP: &reconcile.HTTPHealth{URL: srv.URL + "/{{.Host}}"}, Retries: 2,
		Interval: reconcile.Duration(10 * time.Millisecond), Timeout: reconcile.Duration(time.Second)}
	req := func(rev string, objs []*reconcile.Object) reconcile.ApplyRequest {
		q := request("u", rev, true, objs...)
		q.Unit.Health = health
		return q
	}
	cs := r.sync(req("r1", confAndReload(t, r, "v1\n")))
	if len(cs.Failed()) > 0 {
		t.Fatalf("r1 failed: %+v", cs.Failed())
	}

	mu.Lock()
	unhealthy["h2"] = true
	mu.Unlock()
	cs = r.sync(req("r2", confAndReload(t, r, "v2\n", fileObj(t, "extra", "/etc/extra", "x\n", ""))))
	wantActions(t, cs.Changes,
		"h1 machine.steward.dev/File/extra created", "h1 machine.steward.dev/File/conf configured", "h1 machine.steward.dev/Command/reload configured",
		"h2 machine.steward.dev/File/extra failed", "h2 machine.steward.dev/File/conf failed", "h2 machine.steward.dev/Command/reload failed")
	msg := cs.Changes[3].Message
	for _, want := range []string{"health check failed after applying revision r2", "status 503", "rolled back to revision r1"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("message %q does not say %q", msg, want)
		}
	}
	// h2 stays down at r1 too: the check after the rollback says so.
	if !strings.Contains(msg, "rolled back to revision r1, which is not healthy either: 2 attempts") {
		t.Fatalf("message %q does not say the rolled-back host is still unhealthy", msg)
	}
	if got := r.file("h2", "etc/web.conf"); got != "v1\n" {
		t.Fatalf("h2 conf %q after rollback, want v1", got)
	}
	if r.exists("h2", "etc/extra") {
		t.Fatal("h2: file created by the failed revision survived the rollback")
	}
	if got := r.file("h1", "etc/web.conf"); got != "v2\n" {
		t.Fatalf("h1 conf %q, want v2", got)
	}
	// Every reload runs on the first host's tree (the command's $R): r1 on
	// both hosts, r2 on both, and the rollback's on h2.
	if n := reloads(r, "h1"); n != 5 {
		t.Fatalf("%d reloads, want 5 (r1 twice, r2 twice, h2's rollback)", n)
	}
	inv := inventoryOf(t, r, "h2")
	if inv.Status != machine.StatusRolledBack || inv.Revision != "r1" || inv.Failed != "r2" || inv.LastGood.Revision != "r1" {
		t.Fatalf("h2 inventory: status %s revision %s failed %s last good %s", inv.Status, inv.Revision, inv.Failed, inv.LastGood.Revision)
	}
	if inv := inventoryOf(t, r, "h1"); inv.Status != machine.StatusApplied || inv.LastGood.Revision != "r2" {
		t.Fatalf("h1 inventory: status %s last good %s", inv.Status, inv.LastGood.Revision)
	}

	// The reconciler retries r2: h2, where it was rolled back, is held
	// (skipped, saying why) instead of applied and rolled back again.
	r2 := req("r2", confAndReload(t, r, "v2\n", fileObj(t, "extra", "/etc/extra", "x\n", "")))
	cs = r.sync(r2)
	wantActions(t, cs.Changes,
		"h1 machine.steward.dev/File/extra unchanged", "h1 machine.steward.dev/File/conf unchanged", "h1 machine.steward.dev/Command/reload unchanged",
		"h2 machine.steward.dev/File/extra skipped", "h2 machine.steward.dev/File/conf skipped", "h2 machine.steward.dev/Command/reload skipped")
	if m := cs.Changes[3].Message; !strings.HasPrefix(m, "rolled back from revision r2 at ") || !strings.Contains(m, "status 503") {
		t.Fatalf("held message %q", m)
	}
	if n := reloads(r, "h1"); n != 5 || r.file("h2", "etc/web.conf") != "v1\n" {
		t.Fatal("the held revision was applied")
	}
	// A manual sync applies it once more.
	p, err := r.target.Plan(reconcile.RetryHeld(t.Context()), r2)
	if err != nil {
		t.Fatal(err)
	}
	if cs, err = r.target.Apply(reconcile.RetryHeld(t.Context()), p); err != nil || len(cs.Failed()) != 3 {
		t.Fatalf("manual sync: %v %+v", err, cs)
	}
	// A new revision is applied.
	mu.Lock()
	unhealthy["h2"] = false
	mu.Unlock()
	if cs := r.sync(req("r3", confAndReload(t, r, "v3\n"))); len(cs.Failed()) > 0 || r.file("h2", "etc/web.conf") != "v3\n" {
		t.Fatalf("r3: %+v", cs.Changes)
	}
}

// TestHealthFailsWithoutLastGood: a first revision that fails its health
// check has nothing to roll back to; it stays failed, and the next run
// checks the host again although nothing changes, until it is healthy.
func TestHealthFailsWithoutLastGood(t *testing.T) {
	r := newRig(t)
	ready := filepath.Join(t.TempDir(), "ready")
	q := request("u", "r1", false, fileObj(t, "conf", "/etc/web.conf", "v1\n", ""))
	check := "test -e " + ready + " || { echo not ready >&2; exit 1; }"
	q.Unit.Health = &reconcile.Health{Command: &reconcile.CommandHealth{Run: []string{"sh", "-c", check}}, Retries: 1}
	cs := r.sync(q)
	wantActions(t, cs.Changes, "h1 machine.steward.dev/File/conf failed")
	want := "health check failed after applying revision r1: 1 attempts, last: sh -c " + check + " exited 1: not ready; no last good revision to roll back to"
	if m := cs.Changes[0].Message; m != want {
		t.Fatalf("message\n  got  %q\n  want %q", m, want)
	}
	if inv := inventoryOf(t, r, h1); inv.Status != machine.StatusFailed || inv.LastGood != nil {
		t.Fatalf("inventory status %s last good %v", inv.Status, inv.LastGood)
	}
	// Nothing changed, and the host is still unhealthy: still failed.
	cs = r.sync(q)
	if len(cs.Failed()) != 1 || !strings.Contains(cs.Changes[0].Message, "no last good revision to roll back to") {
		t.Fatalf("second run with the host unhealthy: %+v", cs.Changes)
	}
	if inv := inventoryOf(t, r, h1); inv.Status != machine.StatusFailed || inv.LastGood != nil {
		t.Fatalf("after the second run: inventory status %s last good %v", inv.Status, inv.LastGood)
	}
	// Healthy now: r1 becomes the last good revision, without a change.
	if err := os.WriteFile(ready, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cs = r.sync(q)
	if len(cs.Failed()) != 0 {
		t.Fatalf("run with the host healthy: %+v", cs.Changes)
	}
	if inv := inventoryOf(t, r, h1); inv.Status != machine.StatusApplied || inv.LastGood == nil || inv.LastGood.Revision != "r1" {
		t.Fatalf("after the healthy run: inventory status %s last good %v", inv.Status, inv.LastGood)
	}
}

// dying loses the connection right after it wrote the file named dieAfter:
// every later operation fails, including the final inventory write.
type dying struct {
	machine.Transport
	dieAfter string
	mu       sync.Mutex
	dead     bool
}

var errLost = errors.New("connection lost (injected)")

func (d *dying) isDead() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.dead }

func (d *dying) WriteFile(ctx context.Context, p string, r io.Reader, a machine.FileAttrs) error {
	if d.isDead() {
		return errLost
	}
	err := d.Transport.WriteFile(ctx, p, r, a)
	if strings.HasSuffix(p, d.dieAfter) {
		d.mu.Lock()
		d.dead = true
		d.mu.Unlock()
	}
	return err
}

func (d *dying) Run(ctx context.Context, c machine.Cmd) (*machine.CmdResult, error) {
	if d.isDead() {
		return nil, errLost
	}
	return d.Transport.Run(ctx, c)
}

// TestPendingRunSurvivesLostConnection: the connection drops right after
// the watched File was written; the run the change calls for was recorded
// as pending before, and the next run performs it.
func TestPendingRunSurvivesLostConnection(t *testing.T) {
	r := newRig(t)
	r.sync(request("u", "r1", false, confAndReload(t, r, "a\n")...))
	var armed bool
	r.wrap = func(_ string, tr machine.Transport) machine.Transport {
		if armed {
			return &dying{Transport: tr, dieAfter: "/etc/web.conf"}
		}
		return tr
	}
	p := r.plan(request("u", "r2", false, confAndReload(t, r, "b\n")...))
	armed = true
	cs, err := r.target.Apply(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	wantActions(t, cs.Changes, "h1 machine.steward.dev/File/conf configured", "h1 machine.steward.dev/Command/reload failed")
	if inv := inventoryOf(t, r, h1); !slices.Equal(inv.Pending, []string{"Command/reload run"}) {
		t.Fatalf("pending %q: the run was not recorded before the change", inv.Pending)
	}
	armed = false
	before := reloads(r, h1)
	cs = r.sync(request("u", "r2", false, confAndReload(t, r, "b\n")...))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/File/conf unchanged", "h1 machine.steward.dev/Command/reload configured")
	if d := cs.Changes[1].Diff; !strings.Contains(d, "pending from an earlier run") {
		t.Fatalf("diff %q", d)
	}
	if reloads(r, h1) != before+1 {
		t.Fatal("pending run not done")
	}
	if inv := inventoryOf(t, r, h1); len(inv.Pending) != 0 || inv.Status != machine.StatusApplied {
		t.Fatalf("inventory pending %q status %s", inv.Pending, inv.Status)
	}
}

// TestPruneAfterInterruptedRun: a run that dies midway (here the connection
// drops after the second of three new files) has recorded what it was about
// to create before creating anything, so when the files are no longer
// declared, prune removes those it created.
func TestPruneAfterInterruptedRun(t *testing.T) {
	r := newRig(t)
	r.wrap = func(_ string, tr machine.Transport) machine.Transport {
		return &dying{Transport: tr, dieAfter: "/etc/b"}
	}
	objs := []*reconcile.Object{
		fileObj(t, "a", "/etc/a", "a\n", ""), fileObj(t, "b", "/etc/b", "b\n", ""), fileObj(t, "c", "/etc/c", "c\n", ""),
	}
	cs, err := r.target.Apply(t.Context(), r.plan(request("u", "r1", true, objs...)))
	if err != nil {
		t.Fatal(err)
	}
	wantActions(t, cs.Changes, "h1 machine.steward.dev/File/a created", "h1 machine.steward.dev/File/b created", "h1 machine.steward.dev/File/c failed")
	if !r.exists(h1, "etc/a") || !r.exists(h1, "etc/b") || r.exists(h1, "etc/c") {
		t.Fatal("the injected failure did not stop the run after /etc/b")
	}
	r.wrap = nil
	cs = r.sync(request("u", "r2", true))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/File/c unchanged", "h1 machine.steward.dev/File/b deleted", "h1 machine.steward.dev/File/a deleted")
	if r.exists(h1, "etc/a") || r.exists(h1, "etc/b") {
		t.Fatal("files created by the interrupted run were left behind")
	}
}

// TestLastGoodSurvivesWritesOfAKeptInventory: a plan takes the inventory
// without its last good objects (the target keeps them on the host only);
// an apply that records a failure writes the inventory without a new last
// good revision, and the host's objects must stay in it, so that a later
// failed health check still rolls back to them.
func TestLastGoodSurvivesWritesOfAKeptInventory(t *testing.T) {
	healthy := true
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if !healthy {
			http.Error(w, "down", http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	r := newRig(t)
	req := func(rev string, objs ...*reconcile.Object) reconcile.ApplyRequest {
		q := request("u", rev, true, objs...)
		q.Unit.Health = &reconcile.Health{HTTP: &reconcile.HTTPHealth{URL: srv.URL}, Retries: 1, Timeout: reconcile.Duration(time.Second)}
		return q
	}
	if cs := r.sync(req("r1", fileObj(t, "conf", "/etc/web.conf", "v1\n", ""))); len(cs.Failed()) > 0 {
		t.Fatalf("r1: %+v", cs.Failed())
	}
	r.sync(req("r1", fileObj(t, "conf", "/etc/web.conf", "v1\n", ""))) // planned with the kept inventory
	failing := obj(t, hdr+"kind: Command\nmetadata: {name: fail}\nspec: {run: [sh, -c, 'exit 3'], creates: /etc/never}")
	if cs := r.sync(req("r2", fileObj(t, "conf", "/etc/web.conf", "v2\n", ""), failing)); len(cs.Failed()) == 0 {
		t.Fatal("r2 applied; want its command to fail")
	}
	inv := inventoryOf(t, r, "h1")
	if inv.Status != machine.StatusFailed || inv.LastGood == nil || inv.LastGood.Revision != "r1" || !strings.Contains(string(inv.LastGood.Objects), `v1\n`) {
		t.Fatalf("after the failed r2 the inventory on the host has status %s and last good %+v, want r1's objects kept", inv.Status, inv.LastGood)
	}
	mu.Lock()
	healthy = false
	mu.Unlock()
	cs := r.sync(req("r3", fileObj(t, "conf", "/etc/web.conf", "v3\n", "")))
	if len(cs.Failed()) == 0 || !strings.Contains(cs.Changes[0].Message, "rolled back to revision r1") {
		t.Fatalf("r3: %+v, want it rolled back to r1", cs.Changes)
	}
	if got := r.file("h1", "etc/web.conf"); got != "v1\n" {
		t.Fatalf("conf %q after the rollback, want v1", got)
	}
}
