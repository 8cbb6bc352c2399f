package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	"github.com/stewardhq/steward/reconcile/status"
)

// steward run with a package unit: it applies the locked version, proposes
// the lock update for a new version through the image write-back (then
// applies it), and keeps generating the locked version when the package
// repository goes away.
func TestRunPackages(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	pkg := srv.NewRepo(t, "ops")
	pkg.Commit(t, "greeter", greeterFiles)
	pkg.Tag(t, "greeter/v1.0.0", true)

	fleet := srv.NewRepo(t, "fleet")
	fleet.Write(t, map[string]string{"steward.yaml": `apiVersion: steward.dev/v1
kind: Stack
targets:
  here: {local: {root: ./out}}
units:
  - name: greet
    package: {git: "` + pkg.URL + `", path: greeter, channel: stable}
    target: here
    with: {greeting: hi}
images:
  interval: 1s
  policies: []
`})
	if code, out, errOut := runIn(t, t.TempDir(), "packages", "update", "-C", fleet.Work); code != 0 {
		t.Fatalf("packages update: exit %d\n%s%s", code, out, errOut)
	}
	fleet.Commit(t, "stack", nil)

	work := t.TempDir()
	d := startDaemon(t, buildSteward(t), work, nil, "run", "--repo", fleet.URL, "--poll-interval", "2s",
		"--registry-config", filepath.Join(work, "none.json"), "--propose-package-updates")
	out := filepath.Join(work, "out", "greetings", "hello")
	d.waitFor(t, "v1.0.0 applied", 2*time.Minute, func(*status.Snapshot) bool {
		b, _ := os.ReadFile(out)
		return string(b) == "hi x1 (params-file)\n"
	})

	// A new stable version: the daemon commits the lock, then applies it.
	pkg.Commit(t, "greeter 1.1", map[string]string{"greeter/gen.sh": strings.Replace(greeterFiles["greeter/gen.sh"], "$STEWARD_PARAM_GREETING x", "$STEWARD_PARAM_GREETING! x", 1)})
	pkg.Tag(t, "greeter/v1.1.0", true)
	d.waitFor(t, "v1.1.0 locked and applied", 2*time.Minute, func(s *status.Snapshot) bool {
		b, _ := os.ReadFile(out)
		return string(b) == "hi! x1 (params-file)\n" && s != nil && s.Images != nil && s.Images.LastCommit != ""
	})
	if lock := fleet.GitBare(t, "show", "main:steward.lock"); !strings.Contains(lock, "version: v1.1.0") {
		t.Fatalf("lock on main:\n%s", lock)
	}

	// The package repository goes away: a new revision of the stack is
	// still generated from the locked commit in the clone.
	must(t, os.Rename(filepath.Join(srv.Root, "ops.git"), filepath.Join(srv.Root, "ops-gone.git")))
	fleet.Git(t, "pull", "-q", "origin", "main")
	rev := fleet.Commit(t, "a readme", map[string]string{"README": "fleet\n"})
	d.waitFor(t, "the new revision applied with the locked package", 2*time.Minute, func(s *status.Snapshot) bool {
		return unitState(s, "greet").Revision == rev
	})
	if b, _ := os.ReadFile(out); string(b) != "hi! x1 (params-file)\n" {
		t.Fatalf("applied file: %q", b)
	}
	if err := d.stop(t); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, d.log)
	}
}
