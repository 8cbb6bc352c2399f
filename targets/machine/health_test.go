package machine

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

func confAndUnit(t *testing.T, conf string, extra ...*reconcile.Object) []*reconcile.Object {
	return append([]*reconcile.Object{
		fileObj(t, "conf", "/etc/web.conf", conf, ""),
		unitObj(t, "  watches: [File/conf]\n"),
	}, extra...)
}

func inventoryOf(t *testing.T, r *rig, host string) *Inventory {
	t.Helper()
	tr, err := NewLocalTransport(host, r.root(host), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	inv, err := ReadInventory(t.Context(), tr, "/", "u")
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
	cs := r.sync(req("r1", confAndUnit(t, "v1\n")))
	if len(cs.Failed()) > 0 {
		t.Fatalf("r1 failed: %+v", cs.Failed())
	}

	mu.Lock()
	unhealthy["h2"] = true
	mu.Unlock()
	r.shims.calls(t, false)
	cs = r.sync(req("r2", confAndUnit(t, "v2\n", fileObj(t, "extra", "/etc/extra", "x\n", ""))))
	wantActions(t, cs.Changes,
		"h1 machine.steward.dev/File/extra created", "h1 machine.steward.dev/File/conf configured", "h1 machine.steward.dev/Unit/web configured",
		"h2 machine.steward.dev/File/extra failed", "h2 machine.steward.dev/File/conf failed", "h2 machine.steward.dev/Unit/web failed")
	msg := cs.Changes[3].Message
	for _, want := range []string{"health check failed after applying revision r2", "status 503", "rolled back to revision r1"} {
		if !strings.Contains(msg, want) {
			t.Fatalf("message %q does not say %q", msg, want)
		}
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
	// h1 restarted once for r2; h2 restarted for r2 and again for the
	// rollback (shared systemd shim state).
	restarts := 0
	for _, c := range r.shims.calls(t, false) {
		if c == "systemctl restart web.service" {
			restarts++
		}
	}
	if restarts != 3 {
		t.Fatalf("%d restarts, want 3 (h1 r2, h2 r2, h2 rollback)", restarts)
	}
	inv := inventoryOf(t, r, "h2")
	if inv.Status != StatusRolledBack || inv.Revision != "r1" || inv.Failed != "r2" || inv.LastGood.Revision != "r1" {
		t.Fatalf("h2 inventory: status %s revision %s failed %s last good %s", inv.Status, inv.Revision, inv.Failed, inv.LastGood.Revision)
	}
	if inv := inventoryOf(t, r, "h1"); inv.Status != StatusApplied || inv.LastGood.Revision != "r2" {
		t.Fatalf("h1 inventory: status %s last good %s", inv.Status, inv.LastGood.Revision)
	}
}

func TestHealthFailsWithoutLastGood(t *testing.T) {
	r := newRig(t)
	q := request("u", "r1", false, fileObj(t, "conf", "/etc/web.conf", "v1\n", ""))
	q.Unit.Health = &reconcile.Health{Command: &reconcile.CommandHealth{Run: []string{"sh", "-c", "echo not ready >&2; exit 1"}}, Retries: 1}
	cs := r.sync(q)
	wantActions(t, cs.Changes, "h1 machine.steward.dev/File/conf failed")
	want := "health check failed after applying revision r1: 1 attempts, last: sh -c echo not ready >&2; exit 1 exited 1: not ready; no last good revision to roll back to"
	if m := cs.Changes[0].Message; m != want {
		t.Fatalf("message\n  got  %q\n  want %q", m, want)
	}
	if inv := inventoryOf(t, r, h1); inv.Status != StatusFailed || inv.LastGood != nil {
		t.Fatalf("inventory status %s last good %v", inv.Status, inv.LastGood)
	}
}

func TestPendingRestartSurvivesFailedRun(t *testing.T) {
	r := newRig(t)
	r.sync(request("u", "r1", false, confAndUnit(t, "a\n")...))
	r.shims.calls(t, false)

	r.shims.fail(t, "restart", true)
	cs := r.sync(request("u", "r2", false, confAndUnit(t, "b\n")...))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/File/conf configured", "h1 machine.steward.dev/Unit/web failed")
	if inv := inventoryOf(t, r, h1); !slices.Equal(inv.Pending, []string{"Unit/web restart"}) || inv.Status != StatusFailed {
		t.Fatalf("inventory pending %q status %s", inv.Pending, inv.Status)
	}

	r.shims.fail(t, "restart", false)
	r.shims.calls(t, false)
	cs = r.sync(request("u", "r2", false, confAndUnit(t, "b\n")...))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/File/conf unchanged", "h1 machine.steward.dev/Unit/web configured")
	if d := cs.Changes[1].Diff; d != "restart web.service (pending from an earlier run)\n" {
		t.Fatalf("diff %q", d)
	}
	want := []string{"systemctl is-enabled web.service", "systemctl is-active web.service", "systemctl restart web.service"}
	if got := r.shims.calls(t, false); !slices.Equal(got, want) {
		t.Fatalf("commands:\n  got  %q\n  want %q", got, want)
	}
	if inv := inventoryOf(t, r, h1); len(inv.Pending) != 0 || inv.Status != StatusApplied {
		t.Fatalf("inventory pending %q status %s", inv.Pending, inv.Status)
	}
	if cs := r.sync(request("u", "r2", false, confAndUnit(t, "b\n")...)); cs.HasChanges() {
		t.Fatalf("third run changed things: %+v", cs.Changes)
	}
}

// dying loses the connection right after it wrote the file named dieAfter:
// every later operation fails, including the final inventory write.
type dying struct {
	Transport
	dieAfter string
	mu       sync.Mutex
	dead     bool
}

var errLost = errors.New("connection lost (injected)")

func (d *dying) isDead() bool { d.mu.Lock(); defer d.mu.Unlock(); return d.dead }

func (d *dying) WriteFile(ctx context.Context, p string, r io.Reader, a FileAttrs) error {
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

func (d *dying) Run(ctx context.Context, c Cmd) (*CmdResult, error) {
	if d.isDead() {
		return nil, errLost
	}
	return d.Transport.Run(ctx, c)
}

func TestPendingRestartSurvivesLostConnection(t *testing.T) {
	r := newRig(t)
	r.sync(request("u", "r1", false, confAndUnit(t, "a\n")...))
	var armed bool
	r.wrap = func(_ string, tr Transport) Transport {
		if armed {
			return &dying{Transport: tr, dieAfter: "/etc/web.conf"}
		}
		return tr
	}
	p := r.plan(request("u", "r2", false, confAndUnit(t, "b\n")...))
	armed = true
	cs, err := r.target.Apply(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	wantActions(t, cs.Changes, "h1 machine.steward.dev/File/conf configured", "h1 machine.steward.dev/Unit/web failed")
	if inv := inventoryOf(t, r, h1); !slices.Equal(inv.Pending, []string{"Unit/web restart"}) {
		t.Fatalf("pending %q: the restart was not recorded before the change", inv.Pending)
	}
	armed = false
	r.shims.calls(t, false)
	cs = r.sync(request("u", "r2", false, confAndUnit(t, "b\n")...))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/File/conf unchanged", "h1 machine.steward.dev/Unit/web configured")
	if got := r.shims.calls(t, false); !slices.Contains(got, "systemctl restart web.service") {
		t.Fatalf("pending restart not run: %q", got)
	}
}
