package machine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
	"github.com/stewardhq/steward/targets/machine/local"
)

// stackUnit returns unit name of the stack with identity id.
func stackUnit(id, name string, prune bool) *reconcile.Unit {
	s := &reconcile.Stack{Name: id, Units: []reconcile.Unit{{Name: name, Prune: prune}}}
	s.SetDefaultIdentity("")
	return &s.Units[0]
}

// Inventories are keyed by stack as well as unit: another stack's unit of
// the same name is refused naming both stacks, and the first stack's
// inventory and objects are left as they are (issue 14 item 10).
func TestInventoryOfAnotherStack(t *testing.T) {
	r := newRig(t)
	motd := obj(t, "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, content: \"shop\\n\"}\n")
	shop := stackUnit("shop", "web", true)
	r.sync(reconcile.ApplyRequest{Unit: shop, Revision: "r1", Objects: []*reconcile.Object{motd}})
	inv, err := machine.ReadInventory(context.Background(), mustLocal(t, r), "/", "web")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Stack != "shop" {
		t.Fatalf("inventory records stack %q, want shop", inv.Stack)
	}
	before := r.file("", "var/lib/steward/web.json")

	// Stack blog also has a unit "web", with prune and nothing to apply.
	blog := stackUnit("blog", "web", true)
	_, err = r.target.Plan(context.Background(), reconcile.ApplyRequest{Unit: blog, Revision: "b1"})
	var coll *reconcile.StackCollisionError
	if !errors.As(err, &coll) || !strings.Contains(err.Error(), `belongs to stack "shop", not to this stack "blog"`) {
		t.Fatalf("plan by another stack: error %v, want a collision naming both stacks", err)
	}
	if !strings.Contains(err.Error(), `"shop"`) || !strings.Contains(err.Error(), `"blog"`) {
		t.Errorf("error %q does not name both stacks", err)
	}
	if got := r.file("", "etc/motd"); got != "shop\n" {
		t.Errorf("the other stack's file was touched: %q", got)
	}
	if after := r.file("", "var/lib/steward/web.json"); after != before {
		t.Errorf("the other stack's inventory was rewritten:\n%s", after)
	}

	// An inventory written before stacks had an identity is adopted.
	r.write("", "var/lib/steward/web.json", strings.Replace(before, `"stack": "shop",`, "", 1), 0o600)
	r.sync(reconcile.ApplyRequest{Unit: blog, Revision: "r1", Objects: []*reconcile.Object{motd}})
	inv, err = machine.ReadInventory(context.Background(), mustLocal(t, r), "/", "web")
	if err != nil {
		t.Fatal(err)
	}
	if inv.Stack != "blog" {
		t.Errorf("a legacy inventory was not adopted: stack %q", inv.Stack)
	}
}

func mustLocal(t *testing.T, r *rig) machine.Transport {
	t.Helper()
	tr, err := local.NewTransport("h1", r.root(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}
