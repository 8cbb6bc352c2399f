package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
)

// The git token goes to an http:// repository only with
// --allow-insecure-http: without it sync exits 2 naming the flag, before any
// request, and the token is printed nowhere.
func TestSyncRefusesTokenOverHTTP(t *testing.T) {
	const token = "http-t0ken-8812"
	srv := gitserver.Start(t, gitserver.Options{User: "bot", Password: token})
	repo := srv.NewRepo(t, "fleet")
	out := t.TempDir()
	repo.Commit(t, "v1", map[string]string{
		"steward.yaml": "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: " + out + "}}\nunits:\n  - {name: files, path: files, generator: {yaml: {}}, target: here}\n",
		"files/f.yaml": "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: f}\nspec: {path: /f.txt, content: synced}\n",
	})
	t.Setenv("STEWARD_GIT_USERNAME", "bot")
	t.Setenv("STEWARD_GIT_TOKEN", token)
	dir := t.TempDir()
	code, stdout, stderr := run(t, "sync", "-C", dir, "--repo", repo.URL)
	if code != 2 || !strings.Contains(stderr, "refusing to send a token or password over plain http://") || !strings.Contains(stderr, "--allow-insecure-http") {
		t.Fatalf("without the flag: exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, token) {
		t.Fatalf("the token was printed:\n%s%s", stdout, stderr)
	}
	if c := srv.Counts(); c.RefAdvertisements != 0 || c.Unauthorized != 0 {
		t.Fatalf("requests went out: %+v", c)
	}
	t.Setenv("STEWARD_GIT_USERNAME", "bot") // start-up scrubbed both
	t.Setenv("STEWARD_GIT_TOKEN", token)
	code, stdout, stderr = run(t, "sync", "-C", dir, "--repo", repo.URL, "--allow-insecure-http")
	if code != 0 {
		t.Fatalf("with --allow-insecure-http: exit %d\n%s%s", code, stdout, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(out, "f.txt")); err != nil || string(b) != "synced" {
		t.Fatalf("f.txt = %q, %v", b, err)
	}
}
