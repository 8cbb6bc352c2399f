package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/reconcile"
)

// stackUnit returns a pruning unit name of the stack with identity id.
func stackUnit(id, name string) *reconcile.Unit {
	s := &reconcile.Stack{Name: id, Units: []reconcile.Unit{{Name: name, Target: "test", Prune: true}}}
	s.SetDefaultIdentity("")
	return &s.Units[0]
}

// Inventories are keyed by stack as well as unit: the stack is recorded in
// the inventory, another stack's unit of the same name is refused naming
// both stacks, and nothing of the first stack is touched (issue 14 item 10).
func TestInventoryOfAnotherStack(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	ctx := context.Background()
	name := "web-" + ns
	shop := stackUnit("https://git.example.com/shop.git", name)
	mustSync(t, tg, shop, objects(t, ns, configMap("a", map[string]string{"k": "v"})))

	var cm corev1.ConfigMap
	key := client.ObjectKey{Namespace: tg.opts.InventoryNamespace, Name: inventoryPrefix + name}
	if err := adminClient(t, env).Get(ctx, key, &cm); err != nil {
		t.Fatal(err)
	}
	if got := cm.Data["stack"]; got != "https://git.example.com/shop.git" {
		t.Fatalf("inventory records stack %q", got)
	}
	rv := cm.ResourceVersion

	// Another stack, same unit name, nothing to apply and prune on: its
	// plan is refused and the first stack's ConfigMap stays.
	blog := stackUnit("blog", name)
	_, err := tg.Plan(ctx, reconcile.ApplyRequest{Unit: blog, Revision: "b1"})
	var coll *reconcile.StackCollisionError
	if !errors.As(err, &coll) {
		t.Fatalf("plan by another stack: error %v, want a collision", err)
	}
	for _, want := range []string{`"https://git.example.com/shop.git"`, `"blog"`, "unit " + name, "target test"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %s", err, want)
		}
	}
	if get(t, env, "v1", "ConfigMap", ns, "a") == nil {
		t.Error("the other stack's object was deleted")
	}
	if err := adminClient(t, env).Get(ctx, key, &cm); err != nil || cm.ResourceVersion != rv {
		t.Errorf("the other stack's inventory was touched (err %v)", err)
	}

	// An inventory written before stacks had an identity is adopted, even
	// when nothing else changes.
	old, _, err := tg.readInventory(ctx, name, shop.StackName())
	if err != nil {
		t.Fatal(err)
	}
	if err := tg.writeInventory(ctx, &reconcile.Unit{Name: name}, "rev", old); err != nil {
		t.Fatal(err)
	}
	mustSync(t, tg, blog, objects(t, ns, configMap("a", map[string]string{"k": "v"})))
	if err := adminClient(t, env).Get(ctx, key, &cm); err != nil {
		t.Fatal(err)
	}
	if got := cm.Data["stack"]; got != "blog" {
		t.Errorf("a legacy inventory was not adopted: stack %q", got)
	}
}
