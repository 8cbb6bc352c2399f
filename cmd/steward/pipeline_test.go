package main

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// verify, sync and the daemon reach one revision through one pipeline
// (reconcile.Generate): for the same commit they hold the same Generation —
// the same objects per unit, the same unchecked notes, the same (no)
// problems.
func TestVerifySyncDaemonShareOneGeneration(t *testing.T) {
	repo, out := gitRepo(t), t.TempDir()
	commitFiles(t, repo, "one revision", map[string]string{
		"steward.yaml": `apiVersion: steward.dev/v1
kind: Stack
targets:
  prod: {kubernetes: {credentials: no-such-context}}
  here: {local: {root: ` + out + `}}
units:
  - {name: files, path: files, generator: {yaml: {}}, target: here}
  - {name: kube, path: kube, generator: {yaml: {}}, target: prod}
checks:
  - {name: small, match: {kind: ConfigMap}, cel: "object.data.v.size() < 5"}
`,
		"files/f.yaml": "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: motd}\nspec: {path: /motd, content: \"hello\\n\"}\n",
		"kube/k.yaml": cm("settings", "1") + "---\n" +
			"apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: app}\nspec: {size: 3}\n",
	})
	g := &globalFlags{dir: repo, cacheDir: t.TempDir(), logFormat: "text", logLevel: "error"}
	ctx := t.Context()

	run, err := g.generateWorkTree(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer run.close()
	verify := run.gen

	w, err := g.workspace()
	if err != nil {
		t.Fatal(err)
	}
	sf, tf := &sourceFlags{depth: 1}, &targetFlags{}
	syncR, err := newReconciler(w, g, sf, tf, reconcile.DefaultReconcilerOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer syncR.Close()
	if _, err := syncR.Pass(ctx, reconcile.PassRequest{Manual: true}); err != nil {
		t.Fatal(err)
	}
	sync := syncR.Generation()

	daemonR, err := newReconciler(w, g, sf, tf, reconcile.DefaultReconcilerOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer daemonR.Close()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- daemonR.Run(runCtx) }()
	for daemonR.Generation() == nil {
		select {
		case err := <-done:
			t.Fatalf("daemon stopped: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	daemon := daemonR.Generation()

	head := strings.TrimSpace(runGit(t, repo, "rev-parse", "HEAD"))
	if sync.Revision.ID != head || daemon.Revision.ID != head {
		t.Fatalf("revisions: sync %s, daemon %s, want %s", sync.Revision.ID, daemon.Revision.ID, head)
	}
	want := verify.Hashes()
	if len(want) != 2 || verify.Objects() != 3 || len(verify.Problems) != 0 {
		t.Fatalf("verify generation: %d units, %d objects, problems %v", len(want), verify.Objects(), verify.Problems)
	}
	if len(verify.Unchecked) != 1 || !strings.Contains(verify.Unchecked[0], "example.com/Widget") {
		t.Fatalf("verify unchecked = %v", verify.Unchecked)
	}
	for name, g := range map[string]*reconcile.Generation{"sync": sync, "daemon": daemon} {
		if got := g.Hashes(); !maps.Equal(got, want) {
			t.Errorf("%s generated other objects than verify:\n%v\n%v", name, got, want)
		}
		if !slices.Equal(g.Unchecked, verify.Unchecked) || len(g.Problems) != 0 {
			t.Errorf("%s: unchecked %v problems %v, verify: %v", name, g.Unchecked, g.Problems, verify.Unchecked)
		}
	}
	if b, err := os.ReadFile(filepath.Join(out, "motd")); err != nil || string(b) != "hello\n" {
		t.Errorf("sync did not apply the machine unit: %q, %v", b, err)
	}
}

// build --update-outputs and build -o never write or delete through a
// symlink (a committed output file or directory pointing elsewhere).
func TestBuildRefusesSymlinkedOutput(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	writeTree(t, dir, map[string]string{
		"steward.yaml": stackHeader + "units:\n  - {name: a, path: a, generator: {yaml: {}}, target: prod, output: rendered/a}\n",
		"a/x.yaml":     cm("x", "1"),
	})
	writeTree(t, outside, map[string]string{"victim.yaml": "victim\n", "dir/keep.yaml": "keep\n"})
	if err := os.MkdirAll(filepath.Join(dir, "rendered/a"), 0o755); err != nil {
		t.Fatal(err)
	}
	must(t, os.Symlink(filepath.Join(outside, "victim.yaml"), filepath.Join(dir, "rendered/a/ConfigMap_app_x.yaml")))
	code, _, errOut := run(t, "build", "-C", dir, "--update-outputs")
	if code != 1 || !strings.Contains(errOut, "output rendered/a/ConfigMap_app_x.yaml: is a symlink") {
		t.Errorf("symlinked output file: exit %d, %s", code, errOut)
	}
	// A symlink out of the repository fails the stack's path check; one
	// inside it is refused too (its stale files are not output's to delete).
	must(t, os.RemoveAll(filepath.Join(dir, "rendered/a")))
	writeTree(t, dir, map[string]string{"elsewhere/keep.yaml": "keep\n"})
	must(t, os.Symlink("../elsewhere", filepath.Join(dir, "rendered/a")))
	code, _, errOut = run(t, "build", "-C", dir, "--update-outputs")
	if code != 1 || !strings.Contains(errOut, "output rendered/a: is a symlink") {
		t.Errorf("symlinked output directory: exit %d, %s", code, errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "elsewhere/keep.yaml")); string(b) != "keep\n" {
		t.Errorf("a file outside the output tree was deleted or changed: %q", b)
	}
	must(t, os.Remove(filepath.Join(dir, "rendered/a")))
	outDir := t.TempDir()
	must(t, os.Symlink(filepath.Join(outside, "dir"), filepath.Join(outDir, "a")))
	if code, _, errOut := run(t, "build", "-C", dir, "-o", outDir); code != 1 || !strings.Contains(errOut, "output a: is a symlink") {
		t.Errorf("build -o into a symlinked unit directory: exit %d, %s", code, errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "victim.yaml")); string(b) != "victim\n" {
		t.Errorf("victim overwritten: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "dir/keep.yaml")); string(b) != "keep\n" {
		t.Errorf("a file outside the output tree was deleted or changed: %q", b)
	}
	if entries, _ := os.ReadDir(filepath.Join(outside, "dir")); len(entries) != 1 {
		t.Errorf("wrote into the symlinked directory: %v", entries)
	}
}

// verify refuses a FIFO steward.yaml without opening it (it used to hang),
// and a stack file past --stack-max-bytes.
func TestVerifyRefusesFIFOAndOversizedStack(t *testing.T) {
	dir := t.TempDir()
	must(t, syscall.Mkfifo(filepath.Join(dir, "steward.yaml"), 0o644))
	if code, _, errOut := run(t, "verify", "-C", dir); code != 1 || !strings.Contains(errOut, "steward.yaml: not a regular file") {
		t.Errorf("fifo: exit %d, %s", code, errOut)
	}
	dir = t.TempDir()
	writeTree(t, dir, map[string]string{"steward.yaml": stackHeader + "units: []\n"})
	if code, _, errOut := run(t, "verify", "-C", dir, "--stack-max-bytes", "10"); code != 1 || !strings.Contains(errOut, "more than the limit of 10 (--stack-max-bytes)") {
		t.Errorf("oversized: exit %d, %s", code, errOut)
	}
}
