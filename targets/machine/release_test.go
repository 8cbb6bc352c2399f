package machine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// A release mark is kept in the unit's inventory on every host: an apply
// leaves it, nil clears it, and another stack's unit cannot touch it.
func TestReleaseMarkKeptWithInventory(t *testing.T) {
	r := newRig(t, "h1", "h2")
	ctx := context.Background()
	u := stackUnit("shop", "app.hosts", true)
	if m, err := r.target.ReleaseMark(ctx, u); m != nil || err != nil {
		t.Fatalf("mark before any: %+v, %v", m, err)
	}
	since := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	if err := r.target.SetReleaseMark(ctx, u, &reconcile.ReleaseMark{Revision: "r1", Hash: "h1", HealthySince: since}); err != nil {
		t.Fatal(err)
	}
	motd := obj(t, "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, content: \"shop\\n\"}\n")
	r.sync(reconcile.ApplyRequest{Unit: u, Revision: "r1", Objects: []*reconcile.Object{motd}})
	m, err := r.target.ReleaseMark(ctx, u)
	if err != nil || m == nil || m.Hash != "h1" || !m.HealthySince.Equal(since) {
		t.Fatalf("mark after an apply: %+v, %v", m, err)
	}
	var coll *reconcile.StackCollisionError
	if _, err := r.target.ReleaseMark(ctx, stackUnit("blog", "app.hosts", true)); !errors.As(err, &coll) {
		t.Fatalf("read by another stack: %v, want a collision", err)
	}
	if err := r.target.SetReleaseMark(ctx, u, nil); err != nil {
		t.Fatal(err)
	}
	if m, err := r.target.ReleaseMark(ctx, u); m != nil || err != nil {
		t.Fatalf("mark after clearing: %+v, %v", m, err)
	}
}
