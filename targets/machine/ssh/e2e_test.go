package ssh

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

const webObjects = `apiVersion: machine.steward.dev/v1
kind: Directory
metadata: {name: app}
spec: {path: /srv/app, mode: "0750"}
---
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: conf}
spec: {path: /srv/app/app.conf, content: "listen = 8080\n", mode: "0640"}
---
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: motd}
spec: {path: /srv/app/motd, content: "managed by steward\n"}
---
apiVersion: machine.steward.dev/v1
kind: Command
metadata: {name: init}
spec: {run: ["sh", "-c", "echo done > \"$HOST_ROOT/srv/app/.initialised\""], creates: /srv/app/.initialised}
`

// TestMachineTargetOverSSH applies machine kinds to three real sshd hosts
// through Dialer: create, no-op, update, prune, and a dry run that leaves
// every host tree as it was.
func TestMachineTargetOverSSH(t *testing.T) {
	hosts := startHosts(t, 3)
	f := newFleet(t, hosts, 3)
	objs := objects(t, webObjects)

	cs := f.sync(t, request("r1", true, objs...))
	if got := cs.Count(reconcile.Created) + cs.Count(reconcile.Configured); got != 4*len(hosts) {
		t.Fatalf("first apply changed %d objects, want %d: %+v", got, 4*len(hosts), cs.Changes)
	}
	for _, h := range hosts {
		for p, want := range map[string]string{"srv/app/app.conf": "listen = 8080\n", "srv/app/motd": "managed by steward\n", "srv/app/.initialised": "done\n"} {
			if b, err := os.ReadFile(filepath.Join(h.Root, p)); err != nil || string(b) != want {
				t.Errorf("%s %s = %q, %v", h.Addr, p, b, err)
			}
		}
		if fi, err := os.Stat(filepath.Join(h.Root, "srv/app")); err != nil || fi.Mode().Perm() != 0o750 {
			t.Errorf("%s /srv/app: %v %v", h.Addr, fi, err)
		}
	}

	// No-op: nothing changes, not even a timestamp.
	sums := make([]string, len(hosts))
	for i, h := range hosts {
		sums[i] = treeSum(t, h.Root)
	}
	cs = f.sync(t, request("r1", true, objs...))
	if cs.HasChanges() {
		t.Fatalf("second apply changed something: %+v", cs.Changes)
	}
	for i, h := range hosts {
		if treeSum(t, h.Root) != sums[i] {
			t.Errorf("%s: the no-op apply touched the tree", h.Addr)
		}
	}

	// Dry run of a real change (drifted file, removed object) is harmless.
	drifted := filepath.Join(hosts[1].Root, "srv/app/app.conf")
	if err := os.WriteFile(drifted, []byte("listen = 1\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	for i, h := range hosts {
		sums[i] = treeSum(t, h.Root)
	}
	r2 := objs[:3] // the Command is no longer declared
	plan, err := f.target.Plan(t.Context(), request("r2", true, r2...))
	if err != nil {
		t.Fatal(err)
	}
	if !plan.HasChanges() {
		t.Fatal("plan of a drifted host has no changes; the dry run proves nothing")
	}
	for i, h := range hosts {
		if treeSum(t, h.Root) != sums[i] {
			t.Fatalf("%s: plan changed the host tree", h.Addr)
		}
	}

	// Apply of r2: the drift is corrected, the Command pruned from the
	// inventory (a Command leaves nothing to delete), the files kept.
	cs, err = f.target.Apply(t.Context(), plan)
	if err != nil || len(cs.Failed()) > 0 {
		t.Fatalf("apply r2: %v %+v", err, cs.Failed())
	}
	if b, _ := os.ReadFile(drifted); string(b) != "listen = 8080\n" {
		t.Errorf("drift not corrected: %q", b)
	}
	if fi, _ := os.Stat(drifted); fi.Mode().Perm() != 0o640 {
		t.Errorf("drifted mode not corrected: %v", fi.Mode())
	}

	// Prune: drop the motd File; it is removed from every host.
	cs = f.sync(t, request("r3", true, objs[:2]...))
	if got := cs.Count(reconcile.Deleted); got != len(hosts) {
		t.Fatalf("prune deleted %d objects, want %d: %+v", got, len(hosts), cs.Changes)
	}
	for _, h := range hosts {
		if _, err := os.Stat(filepath.Join(h.Root, "srv/app/motd")); !os.IsNotExist(err) {
			t.Errorf("%s: pruned motd still there (%v)", h.Addr, err)
		}
		if _, err := os.Stat(filepath.Join(h.Root, "srv/app/app.conf")); err != nil {
			t.Errorf("%s: declared file removed: %v", h.Addr, err)
		}
	}
	if cs := f.sync(t, request("r3", true, objs[:2]...)); cs.HasChanges() {
		t.Fatalf("apply after prune not a no-op: %+v", cs.Changes)
	}
	// One connection per host for each plan and each apply that changed
	// something: never one per operation.
	if got, most := f.dials(), 10*len(hosts); got > most {
		t.Errorf("%d connections for 5 runs on %d hosts: connections are not reused", got, len(hosts))
	}
}
