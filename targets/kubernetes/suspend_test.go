package kubernetes

import (
	"context"
	"errors"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// A suspension is kept in the unit's inventory ConfigMap by its own field
// manager: an apply's inventory write leaves it, resuming clears it and
// leaves the inventory (issue 14 item 17).
func TestSuspensionKeptWithInventory(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	ctx := context.Background()
	id := "suspend-" + ns
	u := stackUnit(id, "app-"+ns)
	suspended := func() bool {
		t.Helper()
		invs, err := tg.Inventories(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, inv := range invs {
			if inv.Unit == u.Name {
				return inv.Suspended
			}
		}
		t.Fatalf("no inventory of %s listed: %+v", u.Name, invs)
		return false
	}

	// Suspended before the unit ever applied: the inventory is created.
	if err := tg.SetSuspended(ctx, u, true); err != nil {
		t.Fatal(err)
	}
	if !suspended() {
		t.Fatal("suspension not recorded")
	}
	mustSync(t, tg, u, objects(t, ns, configMap("a", map[string]string{"k": "v"})))
	if !suspended() {
		t.Fatal("an apply's inventory write cleared the suspension")
	}
	if err := tg.SetSuspended(ctx, u, false); err != nil {
		t.Fatal(err)
	}
	if suspended() {
		t.Fatal("resume did not clear the suspension")
	}
	inv, _, err := tg.readInventory(ctx, u.Name, id)
	if err != nil || len(inv) != 1 {
		t.Fatalf("inventory after resume: %v, %v; want the ConfigMap", inv, err)
	}

	// Another stack's unit of the same name cannot suspend it.
	var coll *reconcile.StackCollisionError
	if err := tg.SetSuspended(ctx, stackUnit("other", u.Name), true); !errors.As(err, &coll) {
		t.Fatalf("suspension by another stack: %v, want a collision", err)
	}
}
