package ssh

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
)

// ReadDir lists under the host's Root, like the other rooted calls.
func (r rooted) ReadDir(ctx context.Context, p string) ([]string, error) {
	return r.Transport.ReadDir(ctx, r.p(p))
}

func stackUnit(stack, name string, prune bool) *reconcile.Unit {
	s := &reconcile.Stack{Name: stack, Units: []reconcile.Unit{{Name: name, Prune: prune}}}
	s.SetDefaultIdentity("")
	return &s.Units[0]
}

func fileObj(name, p string) string {
	return "---\napiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: " + name + "}\nspec: {path: " + p + ", content: x}\n"
}

// On real sshd hosts (issue 14 items 9, 10, 17): the inventories of a
// stack are listed over SFTP, a removed unit's files are pruned except one
// another unit took over, its inventory is dropped; another stack's unit
// of the same name is refused; a suspension is kept in the inventories.
func TestCollectAndStacksOverSSH(t *testing.T) {
	hosts := startHosts(t, 2)
	f := newFleet(t, hosts, 2)
	ctx := context.Background()
	a, b := stackUnit("shop", "a", true), stackUnit("shop", "b", true)
	apply := func(u *reconcile.Unit, rev, y string) {
		t.Helper()
		f.sync(t, reconcile.ApplyRequest{Unit: u, Revision: rev, Objects: objects(t, y)})
	}
	apply(a, "r1", fileObj("a1", "/srv/a1")+fileObj("shared", "/srv/shared"))
	apply(b, "r1", fileObj("b1", "/srv/b1"))
	apply(b, "r2", fileObj("b1", "/srv/b1")+fileObj("shared", "/srv/shared")) // b takes shared over

	invs, err := f.target.Inventories(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(invs) != 2 || invs[0].Unit != "a" || !invs[0].Prune || invs[1].Unit != "b" {
		t.Fatalf("inventories of stack shop: %+v", invs)
	}
	if other, err := f.target.Inventories(ctx, "blog"); err != nil || len(other) != 0 {
		t.Fatalf("inventories of stack blog: %+v, %v; want none", other, err)
	}

	// Unit a leaves the stack: collected as the reconciler does.
	plan, err := f.target.Plan(ctx, reconcile.ApplyRequest{Unit: a, Revision: "r3"})
	if err != nil {
		t.Fatal(err)
	}
	if err := reconcile.GuardPrune(a, plan); err != nil {
		t.Fatalf("guard refused a removal that keeps the adopted file: %v", err)
	}
	cs, err := f.target.Apply(ctx, plan)
	if err != nil || len(cs.Failed()) > 0 {
		t.Fatalf("apply: %v %+v", err, cs.Failed())
	}
	// Unit a recorded outputs: they go with its inventory.
	if err := f.target.WriteOutputs(ctx, "a", map[string]reconcile.OutputValue{"port": {Value: "5432"}}); err != nil {
		t.Fatal(err)
	}
	ids, err := f.target.DropInventory(ctx, "a", "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 0 {
		t.Errorf("dropped inventory still recorded %v after the prune", ids)
	}
	for _, c := range plan.Changes {
		if c.Object.Name == "shared" && (c.Action != reconcile.Unchanged || !strings.Contains(c.Message, "unit b manages it now")) {
			t.Errorf("%s %s: %s %q, want left in place for unit b", c.Host, c.Object, c.Action, c.Message)
		}
	}
	for _, h := range hosts {
		if _, err := os.Stat(filepath.Join(h.Root, "srv/a1")); !os.IsNotExist(err) {
			t.Errorf("%s: the removed unit's file remains (%v)", h.Addr, err)
		}
		if _, err := os.Stat(filepath.Join(h.Root, "srv/shared")); err != nil {
			t.Errorf("%s: the file unit b took over was deleted: %v", h.Addr, err)
		}
		if _, err := os.Stat(filepath.Join(h.Root, machine.InventoryDir, "a.json")); !os.IsNotExist(err) {
			t.Errorf("%s: the removed unit's inventory remains (%v)", h.Addr, err)
		}
		if _, err := os.Stat(filepath.Join(h.Root, machine.InventoryDir, "outputs", "a.json")); !os.IsNotExist(err) {
			t.Errorf("%s: the removed unit's outputs remain (%v)", h.Addr, err)
		}
	}

	// Another stack's unit b is refused, naming both stacks.
	_, err = f.target.Plan(ctx, reconcile.ApplyRequest{Unit: stackUnit("blog", "b", true), Revision: "x"})
	if err == nil || !strings.Contains(err.Error(), `belongs to stack "shop", not to this stack "blog"`) {
		t.Fatalf("plan by another stack: %v", err)
	}

	// A suspension is kept on every host.
	if err := f.target.SetSuspended(ctx, b, true); err != nil {
		t.Fatal(err)
	}
	invs, err = f.target.Inventories(ctx, "shop")
	if err != nil || len(invs) != 1 || !invs[0].Suspended {
		t.Fatalf("after suspending b: %+v, %v", invs, err)
	}
}
