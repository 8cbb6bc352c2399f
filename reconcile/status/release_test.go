package status

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// TestObserverReleaseLine: one wave's release line reaches every wave of
// its release, on the page too; other units have none.
func TestObserverReleaseLine(t *testing.T) {
	stack, err := reconcile.ParseStack([]byte(`apiVersion: steward.dev/v1
kind: Stack
targets:
  a: {local: {root: a}}
  b: {local: {root: b}}
units:
  - {name: app, path: app, generator: {yaml: {}}, targets: [a, b], progressive: {soak: 1m}}
  - {name: web, path: web, generator: {yaml: {}}, target: a}
`), "steward.yaml")
	if err != nil {
		t.Fatal(err)
	}
	store := NewStore()
	o := NewObserver(store, "")
	line := "wave 2 of 2, frozen: target b failed revision 0123456789ab: health check failed"
	o.UnitReconciled(reconcile.UnitEvent{Unit: stack.Unit("app.b"), State: reconcile.StateFailed, Release: line})
	o.UnitReconciled(reconcile.UnitEvent{Unit: stack.Unit("web"), State: reconcile.StateReady})
	snap := store.Snapshot()
	for _, name := range []string{"app.a", "app.b"} {
		if u, _ := snap.Unit(name); u.Release != line {
			t.Errorf("%s release %q, want %q", name, u.Release, line)
		}
	}
	if u, _ := snap.Unit("web"); u.Release != "" {
		t.Errorf("web has a release line: %q", u.Release)
	}
	rec := httptest.NewRecorder()
	Handler(store).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if body := rec.Body.String(); !strings.Contains(body, "release: "+line) {
		t.Errorf("the status page lacks the release line:\n%s", body)
	}
}
