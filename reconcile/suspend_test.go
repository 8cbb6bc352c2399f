package reconcile_test

import (
	"context"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// A suspension set through the API survives a restart: it is kept with
// the unit's inventory on its target (here the local machine target) and
// read back by a new reconciler (issue 14 item 17).
func TestSuspensionSurvivesRestart(t *testing.T) {
	stack := "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  edge: {local: {root: out}}\nunits:\n" +
		"  - {name: app, path: app, generator: {yaml: {}}, target: edge}\n" +
		"  - {name: web, path: web, generator: {yaml: {}}, target: edge}\n"
	var opts reconcile.ReconcilerOptions
	f := newFixtureWith(t, map[string]string{
		"steward.yaml": stack,
		"app/f.yaml":   file("conf", "/etc/app.conf", "v1"),
		"web/f.yaml":   file("page", "/srv/index.html", "v1"),
	}, func(o *reconcile.ReconcilerOptions) {
		o.Stages.StackIdentity = "file:///shop"
		opts = *o
	})
	if got := f.states(f.pass(reconcile.PassRequest{})); got != "app=ready web=ready" {
		t.Fatalf("first pass: %s", got)
	}
	must(t, f.r.Suspend(context.Background(), "app"))

	// steward restarts: a new reconciler, nothing in memory.
	f.r = reconcile.NewReconciler(opts)
	f.commit("v2", map[string]string{"app/f.yaml": file("conf", "/etc/app.conf", "v2"), "web/f.yaml": file("page", "/srv/index.html", "v2")})
	if got := f.states(f.pass(reconcile.PassRequest{})); got != "app=suspended web=ready" {
		t.Fatalf("after a restart: %s, want app suspended", got)
	}
	if got := f.read("edge", "etc/app.conf"); got != "v1" {
		t.Fatalf("suspended unit applied after a restart: %q", got)
	}

	// Resumed, then restarted again: it applies.
	must(t, f.r.Resume(context.Background(), "app"))
	f.r = reconcile.NewReconciler(opts)
	if got := f.states(f.pass(reconcile.PassRequest{})); got != "app=ready web=ready" && got != "app=ready" {
		t.Fatalf("after resume and restart: %s", got)
	}
	if got := f.read("edge", "etc/app.conf"); got != "v2" {
		t.Fatalf("resumed unit not applied: %q", got)
	}
}
