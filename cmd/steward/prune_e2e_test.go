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

// The empty-output guard (issue 14 item 8): a pruning unit that generated
// objects and now generates none is refused, its objects left in place,
// until a manual sync allows the mass prune.
func TestCLIEmptyOutputGuard(t *testing.T) {
	env := kubeEnv.Get(t)
	client, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ns, unit := "guard-"+cliToken(t, 8), "guard-"+cliToken(t, 6)
	kc := "--kubeconfig=" + env.Kubeconfig
	stack := `apiVersion: steward.dev/v1
kind: Stack
targets:
  cluster: {kubernetes: {credentials: testenv}}
units:
  - {name: ` + unit + `, path: app, generator: {yaml: {}}, target: cluster, prune: true}
`
	objs := "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n"
	for i := range 3 {
		objs += fmt.Sprintf("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d, namespace: %s}\ndata: {v: x}\n", i, ns)
	}
	repo := gitRepo(t)
	commitFiles(t, repo, "first", map[string]string{"steward.yaml": stack, "app/all.yaml": objs})
	if code, out, errOut := run(t, "sync", "-C", repo, kc); code != 0 {
		t.Fatalf("first sync: exit %d\n%s%s", code, out, errOut)
	}

	// The generator now yields nothing (a broken chart, a moved path).
	commitFiles(t, repo, "empty", map[string]string{"app/all.yaml": "# nothing here any more\n"})
	code, out, errOut := run(t, "sync", "-C", repo, kc)
	want := "would delete all 4 objects of unit " + unit
	if code != 1 || !strings.Contains(out+errOut, want) {
		t.Fatalf("sync of an empty unit: exit %d, want 1 and %q\n%s%s", code, want, out, errOut)
	}
	for i := range 3 {
		if _, err := client.CoreV1().ConfigMaps(ns).Get(t.Context(), fmt.Sprintf("c%d", i), metav1.GetOptions{}); err != nil {
			t.Errorf("ConfigMap c%d after the refused sync: %v", i, err)
		}
	}

	// A manual sync that allows it deletes them.
	code, out, errOut = run(t, "sync", "-C", repo, kc, "--allow-mass-prune")
	if code != 0 || !strings.Contains(out, "ConfigMap/"+ns+"/c0 deleted") {
		t.Fatalf("sync --allow-mass-prune: exit %d, want 0 and c0 deleted\n%s%s", code, out, errOut)
	}
	if _, err := client.CoreV1().ConfigMaps(ns).Get(t.Context(), "c1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("ConfigMap c1 after the allowed sync: %v, want not found", err)
	}
}

// pruneLimit (default 50%) refuses deleting a larger share of a unit's
// objects at once; allowEmpty lets an empty unit through (issue 14 item 8),
// on the local target.
func TestCLIPruneLimit(t *testing.T) {
	files := func(names ...string) string {
		var b strings.Builder
		for _, n := range names {
			fmt.Fprintf(&b, "---\napiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: %s}\nspec: {path: /etc/%s, content: x}\n", n, n)
		}
		return b.String()
	}
	stack := func(extra string) string {
		return "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: ./out}}\nunits:\n" +
			"  - {name: conf, path: conf, generator: {yaml: {}}, target: here, prune: true" + extra + "}\n"
	}
	repo := gitRepo(t)
	commitFiles(t, repo, "four", map[string]string{"steward.yaml": stack(""), "conf/f.yaml": files("a", "b", "c", "d")})
	wd := t.TempDir()
	t.Chdir(wd)
	exists := func(n string) bool {
		_, err := os.Stat(filepath.Join(wd, "out", "etc", n))
		return err == nil
	}
	if code, out, errOut := run(t, "sync", "-C", repo); code != 0 {
		t.Fatalf("first sync: exit %d\n%s%s", code, out, errOut)
	}

	// Three of four would go: 75% > 50%.
	commitFiles(t, repo, "one", map[string]string{"conf/f.yaml": files("a")})
	code, out, errOut := run(t, "sync", "-C", repo)
	want := "would delete 3 of the 4 objects of unit conf (75%), more than its pruneLimit of 50%"
	if code != 1 || !strings.Contains(out+errOut, want) {
		t.Fatalf("sync deleting 75%%: exit %d, want 1 and %q\n%s%s", code, want, out, errOut)
	}
	if !exists("b") || !exists("c") || !exists("d") {
		t.Error("files deleted by a refused sync")
	}

	// A higher limit lets it through.
	commitFiles(t, repo, "limit", map[string]string{"steward.yaml": stack(", pruneLimit: 80%")})
	if code, out, errOut := run(t, "sync", "-C", repo); code != 0 || exists("b") {
		t.Fatalf("sync under pruneLimit 80%%: exit %d, b exists %v\n%s%s", code, exists("b"), out, errOut)
	}

	// Empty output: refused, unless allowEmpty.
	commitFiles(t, repo, "empty", map[string]string{"conf/f.yaml": "# none\n"})
	code, out, errOut = run(t, "sync", "-C", repo)
	if code != 1 || !strings.Contains(out+errOut, "would delete all 1 objects of unit conf: it generated none") || !exists("a") {
		t.Fatalf("empty sync: exit %d, a exists %v\n%s%s", code, exists("a"), out, errOut)
	}
	commitFiles(t, repo, "allow", map[string]string{"steward.yaml": stack(", allowEmpty: true")})
	if code, out, errOut := run(t, "sync", "-C", repo); code != 0 || exists("a") {
		t.Fatalf("sync with allowEmpty: exit %d, a exists %v\n%s%s", code, exists("a"), out, errOut)
	}
}
