package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
)

// TestPackageReleasedInWaves: a package unit released progressively over
// two targets is locked once, under its own name, and each wave applies the
// locked version.
func TestPackageReleasedInWaves(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	pkgRepo := srv.NewRepo(t, "ops")
	pkgRepo.Write(t, greeterFiles)
	pkgRepo.Commit(t, "greeter", nil)
	head := pkgRepo.Tag(t, "greeter/v1.0.0", false)

	stack := gitRepo(t)
	first, second := t.TempDir(), t.TempDir()
	st := `apiVersion: steward.dev/v1
kind: Stack
targets:
  first: {local: {root: ` + first + `}}
  second: {local: {root: ` + second + `}}
units:
  - name: greet
    package: {git: "` + pkgRepo.URL + `", path: greeter, channel: stable}
    targets: [first, second]
    progressive: {soak: 0s}
    with: {greeting: hi}
`
	commitFiles(t, stack, "stack", map[string]string{"steward.yaml": st})
	cache := t.TempDir()
	code, out, errOut := runIn(t, cache, "packages", "update", "-C", stack)
	lock, _ := os.ReadFile(filepath.Join(stack, "steward.lock"))
	if code != 0 || strings.Count(string(lock), "commit: "+head) != 1 || !strings.Contains(string(lock), "- unit: greet\n") {
		t.Fatalf("update: exit %d\n%s%s\nlock:\n%s", code, out, errOut, lock)
	}
	commitFiles(t, stack, "lock", nil)
	code, out, errOut = runIn(t, cache, "verify", "-C", stack)
	if code != 0 {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}
	for range 3 { // one wave per sync at most: the first, then the second
		code, out, errOut = runIn(t, t.TempDir(), "sync", "-C", stack)
		if _, err := os.Stat(filepath.Join(second, "greetings/hello")); err == nil {
			break
		}
	}
	for _, root := range []string{first, second} {
		got, err := os.ReadFile(filepath.Join(root, "greetings/hello"))
		if err != nil || !strings.HasPrefix(string(got), "hi x1") {
			t.Fatalf("wave under %s: %q (%v); last sync exit %d\n%s%s", root, got, err, code, out, errOut)
		}
	}
}
