package kubernetes

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// A release mark is kept in the unit's inventory ConfigMap by its own field
// manager: an apply's inventory write leaves it, nil clears it, and another
// stack's unit of the same name can neither read nor write it.
func TestReleaseMarkKeptWithInventory(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	ctx := context.Background()
	id := "release-" + ns
	u := stackUnit(id, "app-"+ns+".cluster")
	if m, err := tg.ReleaseMark(ctx, u); m != nil || err != nil {
		t.Fatalf("mark of a unit never applied: %+v, %v", m, err)
	}
	since := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	want := &reconcile.ReleaseMark{Revision: "r1", Hash: "h1", HealthySince: since, Previous: "r0"}
	if err := tg.SetReleaseMark(ctx, u, want); err != nil {
		t.Fatal(err)
	}
	mustSync(t, tg, u, objects(t, ns, configMap("a", map[string]string{"k": "v"})))
	got, err := tg.ReleaseMark(ctx, u)
	if err != nil || got == nil || got.Hash != "h1" || got.Previous != "r0" || !got.HealthySince.Equal(since) {
		t.Fatalf("mark after an apply: %+v, %v; want %+v", got, err, want)
	}
	var coll *reconcile.StackCollisionError
	if _, err := tg.ReleaseMark(ctx, stackUnit("other", u.Name)); !errors.As(err, &coll) {
		t.Fatalf("read by another stack: %v, want a collision", err)
	}
	if err := tg.SetReleaseMark(ctx, stackUnit("other", u.Name), want); !errors.As(err, &coll) {
		t.Fatalf("write by another stack: %v, want a collision", err)
	}
	if err := tg.SetReleaseMark(ctx, u, nil); err != nil {
		t.Fatal(err)
	}
	if m, err := tg.ReleaseMark(ctx, u); m != nil || err != nil {
		t.Fatalf("mark after clearing: %+v, %v", m, err)
	}
	inv, _, err := tg.readInventory(ctx, u.Name, id)
	if err != nil || len(inv) != 1 {
		t.Fatalf("inventory after clearing the mark: %v, %v; want the ConfigMap", inv, err)
	}
}
