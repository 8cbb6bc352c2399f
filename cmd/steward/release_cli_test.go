package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSyncReleaseAcrossRuns: each `steward sync` is a new process with no
// state of its own; a release goes on from one to the next through the
// marks its targets keep, and a sync before the soak ends applies nothing
// new.
func TestSyncReleaseAcrossRuns(t *testing.T) {
	roots := t.TempDir()
	repo := gitRepo(t)
	stack := `apiVersion: steward.dev/v1
kind: Stack
name: sync-release
targets:
  one: {local: {root: ` + filepath.Join(roots, "one") + `}}
  two: {local: {root: ` + filepath.Join(roots, "two") + `}}
units:
  - {name: app, path: app, generator: {yaml: {}}, targets: [one, two], progressive: {soak: 2s}}
`
	conf := func(v string) string {
		return "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: conf}\nspec: {path: /app.conf, content: \"" + v + "\", mode: \"0644\"}\n"
	}
	commitFiles(t, repo, "v1", map[string]string{"steward.yaml": stack, "app/f.yaml": conf("v1")})
	read := func(target string) string {
		b, err := os.ReadFile(filepath.Join(roots, target, "app.conf"))
		if err != nil {
			return "-"
		}
		return string(b)
	}
	start := time.Now()
	code, out, errOut := run(t, "sync", "-C", repo)
	if code != 1 || read("one") != "v1" || read("two") != "-" {
		t.Fatalf("first sync: exit %d, one=%s two=%s\n%s%s", code, read("one"), read("two"), out, errOut)
	}
	if !strings.Contains(out, "unit app.two (target two)") || !strings.Contains(out, "waiting for wave 1 of 2 (target one) to soak until") ||
		!strings.Contains(out, "  release: wave 1 of 2, soaking until") {
		t.Fatalf("first sync output:\n%s", out)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for read("two") != "v1" {
		if time.Now().After(deadline) {
			t.Fatalf("the second wave never applied; last sync: exit %d\n%s%s", code, out, errOut)
		}
		time.Sleep(200 * time.Millisecond) // a polling interval: the marks decide, not this
		code, out, errOut = run(t, "sync", "-C", repo)
		if read("two") == "v1" && time.Since(start) < 2*time.Second {
			t.Fatalf("the second wave applied %v after the first, before its 2s soak", time.Since(start))
		}
	}
	if code != 0 || !strings.Contains(out, "release: complete: 2 waves") {
		t.Fatalf("last sync: exit %d\n%s%s", code, out, errOut)
	}
}
