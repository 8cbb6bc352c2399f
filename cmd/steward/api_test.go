package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/status"
)

// unitEvents counts the units applied (reached their target) and the passes.
type unitEvents struct {
	mu      sync.Mutex
	applied int
	passes  int
	more    chan struct{}
}

func (u *unitEvents) SourceChecked(reconcile.SourceEvent) {}
func (u *unitEvents) UnitReconciled(ev reconcile.UnitEvent) {
	if ev.ChangeSet != nil {
		u.mu.Lock()
		u.applied++
		u.mu.Unlock()
	}
}
func (u *unitEvents) PassCompleted(reconcile.PassEvent) {
	u.mu.Lock()
	u.passes++
	u.mu.Unlock()
	u.more <- struct{}{}
}

// POST /api/units/UNIT/sync goes through the reconciler's own loop: a burst
// of requests for one unit is one sync, not one each.
func TestAPISyncsCoalesce(t *testing.T) {
	repo, out := gitRepo(t), t.TempDir()
	commitFiles(t, repo, "one", map[string]string{
		"steward.yaml": "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: " + out + "}}\n" +
			"units:\n  - {name: site, path: site, generator: {yaml: {}}, target: here}\n",
		"site/f.yaml": "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: index}\nspec: {path: /index.html, content: hi}\n",
	})
	g := &globalFlags{dir: repo, cacheDir: t.TempDir(), logFormat: "text", logLevel: "error"}
	w, err := g.workspace()
	if err != nil {
		t.Fatal(err)
	}
	ev := &unitEvents{more: make(chan struct{}, 16)}
	opts := reconcile.DefaultReconcilerOptions()
	opts.Observer = ev
	r, err := newReconciler(w, g, &sourceFlags{depth: 1}, &targetFlags{}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Pass(t.Context(), reconcile.PassRequest{}); err != nil {
		t.Fatal(err)
	}
	<-ev.more
	api := status.UnitAPI(r, "")
	for range 2000 {
		req := httptest.NewRequest(http.MethodPost, "/api/units/site/sync", nil)
		req.RemoteAddr = "127.0.0.1:40000"
		req.SetPathValue("unit", "site")
		req.SetPathValue("action", "sync")
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			t.Fatalf("POST sync: %d %s", rec.Code, rec.Body)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	<-ev.more // the queued manual sync
	<-ev.more // the trigger it left behind: nothing due
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if ev.applied != 2 || ev.passes != 3 {
		t.Fatalf("2000 sync requests: %d applies in %d passes, want 2 in 3 (the first pass and one sync)", ev.applied, ev.passes)
	}
}
