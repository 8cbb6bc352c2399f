package kubernetes

import (
	"context"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

func TestPrune(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	u := unit("prune-" + ns)
	all := configMap("keep", map[string]string{"a": "1"}) + "---\n" +
		configMap("drop", map[string]string{"a": "2"}) + "---\n" +
		configMap("optout", map[string]string{"a": "3"}) +
		"---\n" + "apiVersion: v1\nkind: Namespace\nmetadata: {name: NS-extra}\n" +
		"---\n" + "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: inner, namespace: NS-extra}\n"
	all = strings.Replace(all, "name: optout, namespace: NS}", "name: optout, namespace: NS, annotations: {steward.dev/prune: disabled}}", 1)
	mustSync(t, tg, u, objects(t, ns, all))

	// A ConfigMap nobody applied through steward, in the same namespace.
	foreign := objects(t, ns, configMap("foreign", map[string]string{"x": "y"}))[0]
	if err := adminClient(t, env).Create(context.Background(), foreign); err != nil {
		t.Fatal(err)
	}

	// The next revision keeps only "keep" and the extra namespace.
	next := configMap("keep", map[string]string{"a": "1"}) + "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: NS-extra}\n"
	cs := mustSync(t, tg, u, objects(t, ns, next))
	wantActions(t, cs.Changes, map[string]reconcile.Action{
		"ConfigMap/keep": reconcile.Unchanged, "Namespace/" + ns + "-extra": reconcile.Unchanged,
		"ConfigMap/drop": reconcile.Deleted, "ConfigMap/optout": reconcile.Skipped, "ConfigMap/inner": reconcile.Deleted,
	})
	if get(t, env, "v1", "ConfigMap", ns, "drop") != nil {
		t.Error("pruned ConfigMap still exists")
	}
	if get(t, env, "v1", "ConfigMap", ns, "optout") == nil {
		t.Error("opted-out ConfigMap was deleted")
	}
	if get(t, env, "v1", "ConfigMap", ns, "foreign") == nil {
		t.Error("a ConfigMap steward never applied was deleted")
	}
	// Opted-out objects leave the inventory: the next sync is quiet.
	cs = mustSync(t, tg, u, objects(t, ns, next))
	if cs.HasChanges() || len(cs.Changes) != 2 {
		t.Errorf("third sync: %v", cs.Changes)
	}
}

// Namespaces are pruned last and only once no unit has objects in them.
func TestPruneNamespaceLast(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	a, b := unit("nsa-"+ns), unit("nsb-"+ns)
	mustSync(t, tg, a, objects(t, ns, "apiVersion: v1\nkind: Namespace\nmetadata: {name: NS-shared}\n---\n"+
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: NS-shared}\n"))
	mustSync(t, tg, b, objects(t, ns, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: NS-shared}\n"))

	// Unit a drops everything: its ConfigMap goes, the namespace stays for b.
	cs := mustSync(t, tg, a, nil)
	wantActions(t, cs.Changes, map[string]reconcile.Action{"ConfigMap/a": reconcile.Deleted, "Namespace/" + ns + "-shared": reconcile.Skipped})
	if n := get(t, env, "v1", "Namespace", "", ns+"-shared"); n == nil || n.GetDeletionTimestamp() != nil {
		t.Fatal("namespace still used by unit b was deleted")
	}
	// Once b has left, a's next sync deletes it.
	mustSync(t, tg, b, nil)
	cs = mustSync(t, tg, a, nil)
	wantActions(t, cs.Changes, map[string]reconcile.Action{"Namespace/" + ns + "-shared": reconcile.Deleted})
	if n := get(t, env, "v1", "Namespace", "", ns+"-shared"); n != nil && n.GetDeletionTimestamp() == nil {
		t.Error("empty namespace not deleted")
	}
}

// The inventory lives in the cluster: a fresh Target (a new steward
// process) prunes what an earlier one applied.
func TestInventorySurvivesRestart(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	u := unit("restart-" + ns)
	mustSync(t, testTarget(t, env.Config), u, objects(t, ns,
		configMap("one", map[string]string{"a": "1"})+"---\n"+configMap("two", map[string]string{"a": "2"})))

	fresh := testTarget(t, env.Config)
	cs := mustSync(t, fresh, u, objects(t, ns, configMap("one", map[string]string{"a": "1"})))
	wantActions(t, cs.Changes, map[string]reconcile.Action{"ConfigMap/one": reconcile.Unchanged, "ConfigMap/two": reconcile.Deleted})
	if get(t, env, "v1", "ConfigMap", ns, "two") != nil {
		t.Error("fresh target did not prune")
	}
}

func TestPruneOff(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	u := unit("pruneoff-" + ns)
	u.Prune = false
	mustSync(t, tg, u, objects(t, ns, configMap("one", nil)+"---\n"+configMap("two", nil)))
	cs := mustSync(t, tg, u, objects(t, ns, configMap("one", nil)))
	wantActions(t, cs.Changes, map[string]reconcile.Action{"ConfigMap/one": reconcile.Unchanged, "ConfigMap/two": reconcile.Skipped})
	if get(t, env, "v1", "ConfigMap", ns, "two") == nil {
		t.Error("prune off deleted an object")
	}
}
