package machine_test

import (
	"context"
	"testing"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
	"github.com/stewardhq/steward/targets/machine/local"
)

// A suspension set through the API after an apply was planned survives that
// apply: the apply writes the unit's inventory, and must not write back the
// suspension state it read when it planned.
func TestSuspensionDuringApplyIsKept(t *testing.T) {
	ctx := context.Background()
	r := newRig(t)
	req := request("u", "r1", true, obj(t, hdr+"kind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, content: \"hello\\n\"}"))
	p := r.plan(req)
	if !p.HasChanges() {
		t.Fatal("the plan has no changes; the test proves nothing")
	}
	if err := r.target.SetSuspended(ctx, req.Unit, true); err != nil {
		t.Fatal(err)
	}
	if _, err := r.target.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got := r.file(h1, "etc/motd"); got != "hello\n" {
		t.Fatalf("motd %q: the apply did not run", got)
	}
	inv := readInv(t, r, "u")
	if inv.Revision != "r1" {
		t.Fatalf("inventory revision %q, want r1", inv.Revision)
	}
	if !inv.Suspended {
		t.Fatal("the apply overwrote the suspension set while it ran")
	}

	// And a resume during the next apply is kept as well.
	req.Revision = "r2"
	req.Objects = []*reconcile.Object{obj(t, hdr+"kind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, content: \"bye\\n\"}")}
	p = r.plan(req)
	if err := r.target.SetSuspended(ctx, req.Unit, false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.target.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	if inv := readInv(t, r, "u"); inv.Suspended || inv.Revision != "r2" {
		t.Fatalf("after resume and apply: suspended %v, revision %q", inv.Suspended, inv.Revision)
	}
}

func readInv(t *testing.T, r *rig, unit string) *machine.Inventory {
	t.Helper()
	tr, err := local.Dialer(r.roots, nil)(context.Background(), h1)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	inv, err := machine.ReadInventory(context.Background(), tr, r.cfg.Root, unit)
	if err != nil {
		t.Fatal(err)
	}
	return inv
}
