package kubernetes

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/stewardhq/steward/reconcile"
)

// The decide step is pure: these tables need no API server.

const testManager = "steward"

func decideObj(kind, ns, name, value string) *unstructured.Unstructured {
	o := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": kind,
		"metadata": map[string]any{"name": name},
		"data":     map[string]any{"v": value},
	}}
	if ns != "" {
		o.SetNamespace(ns)
	}
	return o
}

// liveWith returns obj as the server would hold it after steward applied
// it: with steward's managed fields over data.v.
func liveWith(obj *unstructured.Unstructured, value string) *unstructured.Unstructured {
	l := obj.DeepCopy()
	l.Object["data"] = map[string]any{"v": value}
	l.SetManagedFields([]metav1.ManagedFieldsEntry{{
		Manager: testManager, Operation: metav1.ManagedFieldsOperationApply, APIVersion: "v1",
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:data":{"f:v":{}}}`)},
	}})
	return l
}

func TestDecide(t *testing.T) {
	cm := func() *planned {
		o := decideObj("ConfigMap", "app", "settings", "1")
		return &planned{obj: o, id: reconcile.IDOf(o), mapping: &meta.RESTMapping{}, change: reconcile.Change{Object: reconcile.IDOf(o)}}
	}
	listed := liveKey{gvk: cm().obj.GroupVersionKind(), namespace: "app"}
	vouched := func(p *planned, live *unstructured.Unstructured) inventory {
		return inventory{p.id: {ID: p.id, Version: "v1", Desired: desiredFingerprint(p.obj, p.force), Live: liveFingerprint(live, testManager)}}
	}
	tests := []struct {
		name    string
		setup   func(p *planned) (*liveObjects, inventory, decideOptions)
		action  reconcile.Action // "" when left to the dry-run
		message string
	}{
		{"new in a listed kind", func(p *planned) (*liveObjects, inventory, decideOptions) {
			return &liveObjects{known: map[liveKey]bool{listed: true}, objs: nil}, nil, decideOptions{}
		}, reconcile.Created, ""},
		{"new, dry-run asked for", func(p *planned) (*liveObjects, inventory, decideOptions) {
			return &liveObjects{known: map[liveKey]bool{listed: true}}, nil, decideOptions{DryRunNew: true}
		}, "", ""},
		{"kind not listable (forbidden)", func(p *planned) (*liveObjects, inventory, decideOptions) {
			return &liveObjects{known: map[liveKey]bool{}}, nil, decideOptions{}
		}, "", ""},
		{"kind served by a CRD of this plan", func(p *planned) (*liveObjects, inventory, decideOptions) {
			p.mapping = nil
			return &liveObjects{}, nil, decideOptions{}
		}, reconcile.Created, "after its CustomResourceDefinition"},
		{"failed before deciding", func(p *planned) (*liveObjects, inventory, decideOptions) {
			p.fail("no such kind")
			return &liveObjects{}, nil, decideOptions{}
		}, reconcile.Failed, "no such kind"},
		{"live and vouched for by the inventory", func(p *planned) (*liveObjects, inventory, decideOptions) {
			live := liveWith(p.obj, "1")
			return &liveObjects{known: map[liveKey]bool{listed: true}, objs: map[reconcile.ObjectID]*unstructured.Unstructured{p.id: live}},
				vouched(p, live), decideOptions{FieldManager: testManager}
		}, reconcile.Unchanged, ""},
		{"live, changed by another writer", func(p *planned) (*liveObjects, inventory, decideOptions) {
			inv := vouched(p, liveWith(p.obj, "1"))
			return &liveObjects{known: map[liveKey]bool{listed: true}, objs: map[reconcile.ObjectID]*unstructured.Unstructured{p.id: liveWith(p.obj, "drifted")}},
				inv, decideOptions{FieldManager: testManager}
		}, "", ""},
		{"live, the revision changed the object", func(p *planned) (*liveObjects, inventory, decideOptions) {
			live := liveWith(p.obj, "1")
			inv := vouched(p, live)
			p.obj.Object["data"] = map[string]any{"v": "2"}
			return &liveObjects{known: map[liveKey]bool{listed: true}, objs: map[reconcile.ObjectID]*unstructured.Unstructured{p.id: live}},
				inv, decideOptions{FieldManager: testManager}
		}, "", ""},
		{"live, not in the inventory", func(p *planned) (*liveObjects, inventory, decideOptions) {
			return &liveObjects{known: map[liveKey]bool{listed: true}, objs: map[reconcile.ObjectID]*unstructured.Unstructured{p.id: liveWith(p.obj, "1")}},
				nil, decideOptions{FieldManager: testManager}
		}, "", ""},
		{"live, inventory of another API version", func(p *planned) (*liveObjects, inventory, decideOptions) {
			live := liveWith(p.obj, "1")
			inv := vouched(p, live)
			e := inv[p.id]
			e.Version = "v2"
			inv[p.id] = e
			return &liveObjects{known: map[liveKey]bool{listed: true}, objs: map[reconcile.ObjectID]*unstructured.Unstructured{p.id: live}},
				inv, decideOptions{FieldManager: testManager}
		}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := cm()
			lv, old, opts := tt.setup(p)
			before := p.obj.DeepCopy()
			dry, _ := decide([]*planned{p}, lv, old, opts)
			if tt.action == "" {
				if len(dry) != 1 || p.change.Action != "" {
					t.Fatalf("want a dry-run, got dry=%v action=%q", dry, p.change.Action)
				}
			} else if len(dry) != 0 || p.change.Action != tt.action || p.change.Message != tt.message {
				t.Fatalf("got dry=%v %q %q, want %q %q", dry, p.change.Action, p.change.Message, tt.action, tt.message)
			}
			if tt.action == reconcile.Created && !strings.Contains(p.change.Diff, "+  name: settings") {
				t.Errorf("created without a diff: %q", p.change.Diff)
			}
			if !equalObjects(before, p.obj) {
				t.Errorf("decide changed the desired object")
			}
		})
	}
}

func equalObjects(a, b *unstructured.Unstructured) bool {
	x, _ := a.MarshalJSON()
	y, _ := b.MarshalJSON()
	return string(x) == string(y)
}

func TestDecideNamespacesCreated(t *testing.T) {
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "shop"}}}
	old := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": "live"}}}
	objs := []*planned{
		{obj: ns, id: reconcile.IDOf(ns), mapping: &meta.RESTMapping{}},
		{obj: old, id: reconcile.IDOf(old), mapping: &meta.RESTMapping{}},
	}
	lv := &liveObjects{known: map[liveKey]bool{}, objs: map[reconcile.ObjectID]*unstructured.Unstructured{reconcile.IDOf(old): old}}
	_, creating := decide(objs, lv, nil, decideOptions{})
	if !creating["shop"] || creating["live"] || len(creating) != 1 {
		t.Fatalf("creating = %v, want only shop", creating)
	}
}

func TestDecidePrune(t *testing.T) {
	id := func(kind, ns, name string) reconcile.ObjectID {
		return reconcile.ObjectID{Kind: kind, Namespace: ns, Name: name}
	}
	live := func(labels, annotations map[string]string) *unstructured.Unstructured {
		o := decideObj("ConfigMap", "app", "x", "1")
		o.SetLabels(labels)
		o.SetAnnotations(annotations)
		return o
	}
	mine := map[string]string{UnitLabel: "web"}
	shop := id("Namespace", "", "shop")
	tests := []struct {
		name    string
		prune   bool
		stale   staleObject
		keepers []reconcile.ObjectID
		action  reconcile.Action
		message string
	}{
		{"prune off", false, staleObject{entry: entry{ID: id("ConfigMap", "app", "x")}, live: live(mine, nil)}, nil,
			reconcile.Skipped, "no longer in the unit; not deleted (prune is off)"},
		{"ours", true, staleObject{entry: entry{ID: id("ConfigMap", "app", "x")}, live: live(mine, nil)}, nil, reconcile.Deleted, ""},
		{"gone", true, staleObject{entry: entry{ID: id("ConfigMap", "app", "x")}}, nil, reconcile.Deleted, "already gone"},
		{"read refused", true, staleObject{entry: entry{ID: id("ConfigMap", "app", "x")}, refused: "forbidden"}, nil, reconcile.Failed, "forbidden"},
		{"another unit's now", true, staleObject{entry: entry{ID: id("ConfigMap", "app", "x")}, live: live(map[string]string{UnitLabel: "db"}, nil)}, nil,
			reconcile.Skipped, `not deleted: label ` + UnitLabel + ` is "db", not this unit`},
		{"opted out", true, staleObject{entry: entry{ID: id("ConfigMap", "app", "x")}, live: live(mine, map[string]string{PruneAnnotation: "disabled"})}, nil,
			reconcile.Skipped, "not deleted: " + PruneAnnotation + ": disabled"},
		{"namespace still holding a kept object", true, staleObject{entry: entry{ID: shop}, live: live(mine, nil)},
			[]reconcile.ObjectID{id("ConfigMap", "shop", "kept")}, reconcile.Skipped, "not deleted yet: still holds ConfigMap/shop/kept"},
		{"empty namespace", true, staleObject{entry: entry{ID: shop}, live: live(mine, nil)},
			[]reconcile.ObjectID{id("ConfigMap", "other", "kept")}, reconcile.Deleted, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := decidePrune("web", tt.prune, []staleObject{tt.stale}, tt.keepers)
			c := out[0].change
			if c.Action != tt.action || c.Message != tt.message || c.Object != tt.stale.entry.ID {
				t.Fatalf("got %s %q %q, want %q %q", c.Object, c.Action, c.Message, tt.action, tt.message)
			}
			if tt.action == reconcile.Deleted && tt.stale.live != nil && !strings.Contains(c.Diff, "-  name: x") {
				t.Errorf("deletion without a diff: %q", c.Diff)
			}
			if out[0].keep != (tt.action == reconcile.Skipped && strings.HasPrefix(tt.message, "not deleted yet")) {
				t.Errorf("keep = %v", out[0].keep)
			}
		})
	}
}

func TestStaleEntries(t *testing.T) {
	o := decideObj("ConfigMap", "app", "kept", "1")
	a, b, kept := reconcile.ObjectID{Kind: "ConfigMap", Namespace: "app", Name: "a"}, reconcile.ObjectID{Kind: "ConfigMap", Namespace: "app", Name: "b"}, reconcile.IDOf(o)
	old := inventory{b: {ID: b}, a: {ID: a}, kept: {ID: kept}}
	got := staleEntries([]*planned{{obj: o, id: kept}}, old)
	if len(got) != 2 || got[0].ID != a || got[1].ID != b {
		t.Fatalf("stale = %v, want a then b", got)
	}
}
