package ssh

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

func unitObjects(t *testing.T, conf string, spec string, extra ...string) []*reconcile.Object {
	t.Helper()
	y := `apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: stw-conf}
spec: {path: /etc/stw-sleeper.conf, content: "` + conf + `"}
---
apiVersion: machine.steward.dev/v1
kind: Unit
metadata: {name: stw-sleeper}
spec:
  content: |
    [Unit]
    Description=steward test sleeper
    [Service]
    ExecStart=/bin/sleep infinity
    [Install]
    WantedBy=multi-user.target
  watches: [File/stw-conf]
` + spec
	for _, e := range extra {
		y += "---\n" + e
	}
	return objects(t, y)
}

// TestRealUnit drives a systemd unit on a real host through its life:
// create (unit file, daemon-reload, enable, start), a no-op run, a restart
// when the watched File changes, the pending restart that survives a failed
// run, stop, disable and prune. Each step is checked with systemctl inside
// the guest: is-enabled, is-active and the service's InvocationID, which
// changes exactly when systemd (re)starts it.
func TestRealUnit(t *testing.T) {
	hosts := realHosts(t)
	h := hosts[0]
	f := newRealFleet(t, hosts[:1], nil)
	host := h.Addr
	state := func() string {
		return guest(t, h, "systemctl is-enabled stw-sleeper.service; systemctl is-active stw-sleeper.service; true")
	}
	invocation := func() string {
		return guest(t, h, "systemctl show --property InvocationID --value stw-sleeper.service")
	}
	running := "  enabled: true\n  state: running\n"

	cs := f.sync(t, unitRequest("stw-unit", "r1", unitObjects(t, "a", running)...))
	wantHostActions(t, cs, host, "File/stw-conf created", "Unit/stw-sleeper created")
	if got := state(); got != "enabled\nactive" {
		t.Fatalf("after create: %q", got)
	}
	if got := guest(t, h, "cat /etc/systemd/system/stw-sleeper.service"); !strings.Contains(got, "ExecStart=/bin/sleep infinity") {
		t.Fatalf("unit file: %q", got)
	}
	first := invocation()

	if cs := f.sync(t, unitRequest("stw-unit", "r1", unitObjects(t, "a", running)...)); cs.HasChanges() {
		t.Fatalf("no-op run changed: %+v", cs.Changes)
	}
	if invocation() != first {
		t.Fatal("no-op run restarted the unit")
	}

	cs = f.sync(t, unitRequest("stw-unit", "r2", unitObjects(t, "b", running)...))
	wantHostActions(t, cs, host, "File/stw-conf configured", "Unit/stw-sleeper configured")
	if d := cs.Changes[1].Diff; d != "restart stw-sleeper.service (File/stw-conf changed)\n" {
		t.Fatalf("diff %q", d)
	}
	second := invocation()
	if second == first || state() != "enabled\nactive" {
		t.Fatalf("watched file change: invocation %s -> %s, state %q", first, second, state())
	}

	// A Command between the File and the Unit fails: the restart the
	// changed File calls for is not done, but recorded as pending.
	failing := `apiVersion: machine.steward.dev/v1
kind: Command
metadata: {name: stw-fails}
spec: {run: ["sh", "-c", "echo config check failed >&2; exit 4"], onlyIf: ["true"]}
`
	cs = f.apply(t, t.Context(), unitRequest("stw-unit", "r3", unitObjects(t, "c", running, failing)...))
	wantHostActions(t, cs, host, "File/stw-conf configured", "Command/stw-fails failed", "Unit/stw-sleeper skipped")
	if m := cs.Changes[1].Message; !strings.Contains(m, "exited 4: config check failed") {
		t.Fatalf("command failure message %q", m)
	}
	if invocation() != second {
		t.Fatal("the unit restarted although the run failed before it")
	}
	cs = f.sync(t, unitRequest("stw-unit", "r4", unitObjects(t, "c", running)...))
	wantHostActions(t, cs, host, "File/stw-conf unchanged", "Unit/stw-sleeper configured")
	if d := cs.Changes[1].Diff; d != "restart stw-sleeper.service (pending from an earlier run)\n" {
		t.Fatalf("diff %q", d)
	}
	if invocation() == second {
		t.Fatal("the pending restart did not happen")
	}

	// A changed unit file: daemon-reload, then a restart.
	third := invocation()
	changed := objects(t, `apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: stw-conf}
spec: {path: /etc/stw-sleeper.conf, content: "c"}
---
apiVersion: machine.steward.dev/v1
kind: Unit
metadata: {name: stw-sleeper}
spec:
  content: |
    [Unit]
    Description=steward test sleeper, second edition
    [Service]
    ExecStart=/bin/sleep infinity
    [Install]
    WantedBy=multi-user.target
  watches: [File/stw-conf]
  enabled: true
  state: running
`)
	cs = f.sync(t, unitRequest("stw-unit", "r4b", changed...))
	wantHostActions(t, cs, host, "File/stw-conf unchanged", "Unit/stw-sleeper configured")
	if d := cs.Changes[1].Diff; !strings.Contains(d, "+Description=steward test sleeper, second edition") || !strings.Contains(d, "restart stw-sleeper.service (unit file changed)") {
		t.Fatalf("diff:\n%s", d)
	}
	if invocation() == third || guest(t, h, "systemctl show --property Description --value stw-sleeper.service") != "steward test sleeper, second edition" {
		t.Fatal("systemd did not reload and restart the changed unit")
	}

	cs = f.sync(t, unitRequest("stw-unit", "r5", unitObjects(t, "c", "  enabled: true\n  state: stopped\n")...))
	wantHostActions(t, cs, host, "File/stw-conf unchanged", "Unit/stw-sleeper configured")
	if got := state(); got != "enabled\ninactive" {
		t.Fatalf("after stop: %q", got)
	}
	cs = f.sync(t, unitRequest("stw-unit", "r6", unitObjects(t, "c", "  enabled: false\n  state: stopped\n")...))
	wantHostActions(t, cs, host, "File/stw-conf unchanged", "Unit/stw-sleeper configured")
	if got := state(); got != "disabled\ninactive" {
		t.Fatalf("after disable: %q", got)
	}

	// Prune: the unit and its file go; systemd forgets the unit.
	cs = f.sync(t, unitRequest("stw-unit", "r7"))
	wantHostActions(t, cs, host, "Unit/stw-sleeper deleted", "File/stw-conf deleted")
	if got := guest(t, h, "test -e /etc/systemd/system/stw-sleeper.service && echo present; systemctl show --property LoadState --value stw-sleeper.service"); got != "not-found" {
		t.Fatalf("after prune: %q", got)
	}
}

// TestRealUnitStartFailure: a unit that fails to start fails its change
// with systemctl's error and the tail of the unit's journal.
func TestRealUnitStartFailure(t *testing.T) {
	hosts := realHosts(t)
	h := hosts[0]
	f := newRealFleet(t, hosts[:1], nil)
	objs := objects(t, `apiVersion: machine.steward.dev/v1
kind: Unit
metadata: {name: stw-broken}
spec:
  content: |
    [Service]
    Type=oneshot
    ExecStart=/bin/sh -c 'echo missing /etc/stw-broken.conf, giving up >&2; exit 3'
  state: running
`)
	cs := f.apply(t, t.Context(), unitRequest("stw-broken", "r1", objs...))
	wantHostActions(t, cs, h.Addr, "Unit/stw-broken failed")
	msg := cs.Changes[0].Message
	for _, want := range []string{"systemctl start stw-broken.service exited 1", "journal of stw-broken.service:", "missing /etc/stw-broken.conf, giving up"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message does not say %q:\n%s", want, msg)
		}
	}
	f.apply(t, t.Context(), unitRequest("stw-broken", "r2"))
}

// TestRealSSHDRestart: the unit being applied is the sshd steward talks
// through. A changed drop-in restarts ssh.service over the same connection;
// the run completes, and the next run (on the same pooled transport) works.
func TestRealSSHDRestart(t *testing.T) {
	hosts := realHosts(t)
	h := hosts[2]
	f := newRealFleet(t, hosts[2:3], nil)
	pool := NewPool(f.dial)
	defer pool.Close()
	f.target = newTargetWith(f, pool)
	objs := func(interval string) []*reconcile.Object {
		return objects(t, `apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: stw-sshd}
spec: {path: /etc/ssh/sshd_config.d/stw-alive.conf, content: "ClientAliveInterval `+interval+`\n"}
---
apiVersion: machine.steward.dev/v1
kind: Unit
metadata: {name: ssh}
spec: {state: running, watches: [File/stw-sshd]}
`)
	}
	pid := func() string { return guest(t, h, "systemctl show --property MainPID --value ssh.service") }
	before := pid()
	cs := f.sync(t, unitRequest("stw-sshd", "r1", objs("30")...))
	wantHostActions(t, cs, h.Addr, "File/stw-sshd created", "Unit/ssh configured")
	after := pid()
	if after == before {
		t.Fatal("sshd was not restarted")
	}
	cs = f.sync(t, unitRequest("stw-sshd", "r2", objs("40")...))
	wantHostActions(t, cs, h.Addr, "File/stw-sshd configured", "Unit/ssh configured")
	if pid() == after {
		t.Fatal("sshd was not restarted the second time")
	}
	f.sync(t, unitRequest("stw-sshd", "r3"))
	if got := guest(t, h, "sshd -T | grep -i clientaliveinterval"); got != "clientaliveinterval 0" {
		t.Fatalf("after prune: %q", got)
	}
	guest(t, h, "systemctl restart ssh.service")
}
