package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Units removed from the stack are garbage-collected (issue 14 item 9): a
// pruning unit's objects are pruned after the revision's other units
// applied, an object another unit now declares is adopted, a unit without
// prune has its inventory dropped with what it left named, and the
// empty-output guard holds for removals.
func TestCLIRemovedUnitsCollected(t *testing.T) {
	env := kubeEnv.Get(t)
	client, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	tok := cliToken(t, 6)
	ns := "gc-" + tok
	a, b, c, base := "gca-"+tok, "gcb-"+tok, "gcc-"+tok, "gcns-"+tok
	kc := "--kubeconfig=" + env.Kubeconfig
	cmap := func(name string) string {
		return fmt.Sprintf("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s, namespace: %s}\ndata: {v: x}\n", name, ns)
	}
	unit := func(name, path string, prune bool) string {
		return fmt.Sprintf("  - {name: %s, path: %s, generator: {yaml: {}}, target: cluster, prune: %v}\n", name, path, prune)
	}
	head := "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  cluster: {kubernetes: {credentials: testenv}}\nunits:\n" +
		unit(base, "ns", false)
	repo := gitRepo(t)
	commitFiles(t, repo, "all", map[string]string{
		"steward.yaml": head + unit(a, "a", true) + unit(b, "b", true) + unit(c, "c", false),
		"ns/ns.yaml":   "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n",
		"a/a.yaml":     cmap("x") + cmap("y"),
		"b/b.yaml":     cmap("z"),
		"c/c.yaml":     cmap("w"),
	})
	if code, out, errOut := run(t, "sync", "-C", repo, kc); code != 0 {
		t.Fatalf("first sync: exit %d\n%s%s", code, out, errOut)
	}
	exists := func(name string) bool {
		_, err := client.CoreV1().ConfigMaps(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}
	inventory := func(unit string) bool {
		_, err := client.CoreV1().ConfigMaps("steward-system").Get(t.Context(), "unit-"+unit, metav1.GetOptions{})
		return err == nil
	}

	// a and c leave the stack; b takes over y.
	commitFiles(t, repo, "drop a and c", map[string]string{
		"steward.yaml": head + unit(b, "b", true),
		"a/a.yaml":     "", "c/c.yaml": "",
		"b/b.yaml": cmap("z") + cmap("y"),
	})
	code, out, errOut := run(t, "sync", "-C", repo, kc)
	if code != 0 {
		t.Fatalf("sync dropping units: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"unit " + a + " (removed from the stack) on target cluster: 1 objects pruned, inventory dropped",
		"unit " + c + " (removed from the stack) on target cluster: inventory dropped; left in place: ConfigMap/" + ns + "/w",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("sync output lacks %q:\n%s", want, out)
		}
	}
	if exists("x") {
		t.Error("ConfigMap x of the removed pruning unit was not pruned")
	}
	if !exists("y") {
		t.Error("ConfigMap y, now declared by another unit, was deleted instead of adopted")
	}
	if !exists("w") {
		t.Error("ConfigMap w of the removed unit without prune was deleted")
	}
	if inventory(a) || inventory(c) {
		t.Errorf("inventories of removed units remain: %s %v, %s %v", a, inventory(a), c, inventory(c))
	}

	// Removing b would delete everything it has: refused, then allowed.
	commitFiles(t, repo, "drop b", map[string]string{"steward.yaml": head, "b/b.yaml": ""})
	code, out, errOut = run(t, "sync", "-C", repo, kc)
	want := "would delete all 2 objects of unit " + b + ": it was removed from the stack"
	if code != 1 || !strings.Contains(out, want) {
		t.Fatalf("sync removing b: exit %d, want 1 and %q\n%s%s", code, want, out, errOut)
	}
	if !exists("y") || !exists("z") || !inventory(b) {
		t.Fatal("a refused removal deleted objects or the inventory")
	}
	if code, out, errOut = run(t, "sync", "-C", repo, kc, "--allow-mass-prune"); code != 0 {
		t.Fatalf("sync --allow-mass-prune: exit %d\n%s%s", code, out, errOut)
	}
	if exists("y") || exists("z") || inventory(b) {
		t.Errorf("after the allowed removal: y %v, z %v, inventory %v; want all gone", exists("y"), exists("z"), inventory(b))
	}
}

// The same on the local target: a removed unit's file is pruned, a file
// another unit now declares is adopted, and the inventory is removed.
func TestCLIRemovedUnitsCollectedLocal(t *testing.T) {
	file := func(name string) string {
		return fmt.Sprintf("---\napiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: %s}\nspec: {path: /etc/%s, content: x}\n", name, name)
	}
	head := "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: ./out}}\nunits:\n" +
		"  - {name: b, path: b, generator: {yaml: {}}, target: here, prune: true}\n"
	repo := gitRepo(t)
	commitFiles(t, repo, "two", map[string]string{
		"steward.yaml": head + "  - {name: a, path: a, generator: {yaml: {}}, target: here, prune: true}\n",
		"a/a.yaml":     file("a1") + file("shared"),
		"b/b.yaml":     file("b1"),
	})
	wd := t.TempDir()
	t.Chdir(wd)
	exists := func(p string) bool {
		_, err := os.Stat(filepath.Join(wd, "out", p))
		return err == nil
	}
	if code, out, errOut := run(t, "sync", "-C", repo); code != 0 || !exists("etc/a1") {
		t.Fatalf("first sync: exit %d\n%s%s", code, out, errOut)
	}
	commitFiles(t, repo, "drop a", map[string]string{
		"steward.yaml": head, "a/a.yaml": "", "b/b.yaml": file("b1") + file("shared"),
	})
	code, out, errOut := run(t, "sync", "-C", repo)
	if code != 0 || !strings.Contains(out, "unit a (removed from the stack) on target here: 1 objects pruned") {
		t.Fatalf("sync dropping a: exit %d\n%s%s", code, out, errOut)
	}
	if exists("etc/a1") {
		t.Error("the removed unit's file was not pruned")
	}
	if !exists("etc/shared") {
		t.Error("the file another unit now declares was deleted")
	}
	if exists("var/lib/steward/a.json") {
		t.Error("the removed unit's inventory remains")
	}
	if !exists("var/lib/steward/b.json") {
		t.Error("the remaining unit's inventory is gone")
	}
}
