package ssh

import (
	"os/user"
	"strings"
	"testing"
)

// TestRealUser creates, changes and removes an account with the guest's
// own useradd, usermod and userdel; a File it owns is written with the
// guest's ids.
func TestRealUser(t *testing.T) {
	hosts := realHosts(t)
	h := hosts[1]
	f := newRealFleet(t, hosts[1:2], nil)
	if _, err := user.Lookup("stwdeploy"); err == nil {
		t.Fatal("stwdeploy exists on this machine: the test needs a name only the guest has")
	}
	account := func() string {
		return guest(t, h, "getent passwd stwdeploy | cut -d: -f3,6,7; id -Gn stwdeploy 2>/dev/null | tr ' ' '\\n' | sort | tr '\\n' ' '")
	}
	objs := func(spec string) string {
		return `apiVersion: machine.steward.dev/v1
kind: User
metadata: {name: stwdeploy}
spec: {` + spec + `}
---
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: stw-key}
spec: {path: /home/stwdeploy/key, content: "k\n", owner: stwdeploy, group: stwdeploy, mode: "0600"}
`
	}
	cs := f.sync(t, unitRequest("stw-user", "r1", objects(t, objs("uid: 2501, groups: [audio, video], shell: /bin/bash, home: /home/stwdeploy"))...))
	wantHostActions(t, cs, h.Addr, "User/stwdeploy created", "File/stw-key created")
	if got := account(); got != "2501:/home/stwdeploy:/bin/bash\naudio stwdeploy video" {
		t.Fatalf("after create: %q", got)
	}
	if got := guest(t, h, "stat -c '%U:%G %a' /home/stwdeploy/key"); got != "stwdeploy:stwdeploy 600" {
		t.Fatalf("key file: %q", got)
	}
	if cs := f.sync(t, unitRequest("stw-user", "r1", objects(t, objs("uid: 2501, groups: [video, audio], shell: /bin/bash, home: /home/stwdeploy"))...)); cs.HasChanges() {
		t.Fatalf("no-op run changed: %+v", cs.Changes)
	}
	cs = f.sync(t, unitRequest("stw-user", "r2", objects(t, objs("uid: 2501, groups: [audio], shell: /bin/sh"))...))
	wantHostActions(t, cs, h.Addr, "User/stwdeploy configured", "File/stw-key unchanged")
	if got := account(); got != "2501:/home/stwdeploy:/bin/sh\naudio stwdeploy" {
		t.Fatalf("after change: %q", got)
	}
	cs = f.sync(t, unitRequest("stw-user", "r3"))
	wantHostActions(t, cs, h.Addr, "File/stw-key deleted", "User/stwdeploy deleted")
	if got := guest(t, h, "getent passwd stwdeploy || echo gone"); got != "gone" {
		t.Fatalf("after prune: %q", got)
	}
}

// TestRealOwners: a Directory and a File owned by a user the same apply
// creates and a group that exists only on the guest; ids are resolved on
// the guest, not on this machine.
func TestRealOwners(t *testing.T) {
	hosts := realHosts(t)
	h := hosts[2]
	f := newRealFleet(t, hosts[2:3], nil)
	if _, err := user.LookupGroup("stwguests"); err == nil {
		t.Fatal("group stwguests exists on this machine")
	}
	guest(t, h, "getent group stwguests || groupadd --gid 2777 stwguests")
	objs := objects(t, `apiVersion: machine.steward.dev/v1
kind: User
metadata: {name: stwowner}
spec: {uid: 2601}
---
apiVersion: machine.steward.dev/v1
kind: Directory
metadata: {name: stw-dir}
spec: {path: /srv/stw-owned, owner: stwowner, group: stwguests, mode: "0750"}
---
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: stw-file}
spec: {path: /srv/stw-owned/app.conf, content: "x = 1\n", owner: stwowner, group: stwguests, mode: "0640"}
`)
	cs := f.sync(t, unitRequest("stw-owners", "r1", objs...))
	wantHostActions(t, cs, h.Addr, "User/stwowner created", "Directory/stw-dir created", "File/stw-file created")
	if got := guest(t, h, "stat -c '%U:%G %u:%g %a %F' /srv/stw-owned /srv/stw-owned/app.conf"); got !=
		"stwowner:stwguests 2601:2777 750 directory\nstwowner:stwguests 2601:2777 640 regular file" {
		t.Fatalf("owners:\n%s", got)
	}
	// Drift: ownership changed behind steward's back is put back.
	guest(t, h, "chown root:root /srv/stw-owned/app.conf; chmod 0644 /srv/stw-owned/app.conf")
	cs = f.sync(t, unitRequest("stw-owners", "r1", objs...))
	wantHostActions(t, cs, h.Addr, "User/stwowner unchanged", "Directory/stw-dir unchanged", "File/stw-file configured")
	if d := cs.Changes[2].Diff; !strings.Contains(d, "owner 0 -> stwowner (2601)") || !strings.Contains(d, "group 0 -> stwguests (2777)") {
		t.Fatalf("diff %q", d)
	}
	if got := guest(t, h, "stat -c '%U:%G %a' /srv/stw-owned/app.conf"); got != "stwowner:stwguests 640" {
		t.Fatalf("after drift correction: %q", got)
	}
	f.sync(t, unitRequest("stw-owners", "r2"))
	if got := guest(t, h, "ls /srv/stw-owned 2>&1; getent passwd stwowner || echo no user"); !strings.Contains(got, "No such file") || !strings.HasSuffix(got, "no user") {
		t.Fatalf("after prune: %q", got)
	}
}

// TestRealCommandGuards runs Commands on the guest as its guards allow:
// creates (a path on the guest), unless, onlyIf, and watches.
func TestRealCommandGuards(t *testing.T) {
	hosts := realHosts(t)
	h := hosts[0]
	f := newRealFleet(t, hosts[:1], nil)
	guest(t, h, "rm -rf /var/lib/stw-cmd; mkdir -p /var/lib/stw-cmd")
	cmd := func(name, guards string) string {
		return `apiVersion: machine.steward.dev/v1
kind: Command
metadata: {name: ` + name + `}
spec: {run: [sh, -c, 'echo ` + name + ` >> /var/lib/stw-cmd/ran'], ` + guards + `}
`
	}
	conf := func(c string) string {
		return "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: stw-cmd-conf}\nspec: {path: /etc/stw-cmd.conf, content: " + c + "}\n"
	}
	all := func(c string) string {
		return strings.Join([]string{conf(c),
			cmd("creates", "creates: /var/lib/stw-cmd/ran"),
			cmd("unless-true", `unless: [test, -d, /var/lib/stw-cmd]`),
			cmd("unless-false", `unless: [grep, -q, unless-false, /var/lib/stw-cmd/ran]`),
			cmd("onlyif-true", `onlyIf: [test, -d, /var/lib/stw-cmd]`),
			cmd("onlyif-false", `onlyIf: [test, -e, /nonexistent]`),
			cmd("watcher", `watches: [File/stw-cmd-conf]`),
		}, "---\n")
	}
	ran := func() string { return guest(t, h, "sort /var/lib/stw-cmd/ran") }
	f.sync(t, unitRequest("stw-cmd", "r1", objects(t, all("a"))...))
	if got := ran(); got != "creates\nonlyif-true\nunless-false\nwatcher" {
		t.Fatalf("first run ran:\n%s", got)
	}
	// creates now exists, unless-false's grep succeeds, the watched file
	// is unchanged: only onlyif-true runs again.
	f.sync(t, unitRequest("stw-cmd", "r1", objects(t, all("a"))...))
	if got := ran(); got != "creates\nonlyif-true\nonlyif-true\nunless-false\nwatcher" {
		t.Fatalf("second run ran:\n%s", got)
	}
	f.sync(t, unitRequest("stw-cmd", "r2", objects(t, all("b"))...))
	if got := ran(); got != "creates\nonlyif-true\nonlyif-true\nonlyif-true\nunless-false\nwatcher\nwatcher" {
		t.Fatalf("third run ran:\n%s", got)
	}
	f.sync(t, unitRequest("stw-cmd", "r3"))
	guest(t, h, "rm -rf /var/lib/stw-cmd")
}

// TestRealFacts: the facts a File template sees on a real host (OS,
// distribution and version, architecture, kernel, init system, hostname,
// addresses) are what the guest itself reports.
func TestRealFacts(t *testing.T) {
	hosts := realHosts(t)
	h := hosts[1]
	f := newRealFleet(t, hosts[1:2], nil)
	f.sync(t, unitRequest("stw-facts", "r1", objects(t, `apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: stw-facts}
spec:
  path: /etc/stw-facts
  template: true
  content: |
    {{.Facts.os}} {{.Facts.distro}} {{.Facts.distroVersion}} {{.Facts.arch}} {{.Facts.kernel}}
    {{.Facts.init}} {{.Facts.hostname}} {{.Host}}
    {{.Facts.addresses}}
    {{.Facts.address}}
`)...))
	got := guest(t, h, "cat /etc/stw-facts")
	want := guest(t, h, `. /etc/os-release
echo "$(uname -s | tr A-Z a-z) $ID $VERSION_ID $(uname -m) $(uname -r)"
echo "$(cat /proc/1/comm) $(hostname)"`) + " " + h.IP + "\n" + guest(t, h, "hostname -I") + "\n" + h.IP
	if got != want {
		t.Fatalf("facts:\n%s\nthe guest says:\n%s", got, want)
	}
	if !strings.HasPrefix(got, "linux debian ") || !strings.Contains(got, "\nsystemd "+h.Name+" ") {
		t.Fatalf("facts do not describe a Debian guest running systemd:\n%s", got)
	}
	f.sync(t, unitRequest("stw-facts", "r2"))
}

// TestRealDiskFull: a File that does not fit on the guest's filesystem
// fails with the write error and leaves the old file whole, with no
// temporary file behind.
func TestRealDiskFull(t *testing.T) {
	hosts := realHosts(t)
	h := hosts[0]
	f := newRealFleet(t, hosts[:1], nil)
	guest(t, h, "mkdir -p /srv/stw-full && mount -t tmpfs -o size=64k tmpfs /srv/stw-full && echo old > /srv/stw-full/data")
	t.Cleanup(func() { h.Exec(t.Context(), "umount", "/srv/stw-full") })
	big := strings.Repeat("0123456789abcdef", 16*1024) // 256 KiB
	cs := f.apply(t, t.Context(), unitRequest("stw-full", "r1", objects(t, `apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: stw-full}
spec: {path: /srv/stw-full/data, content: "`+big+`"}
`)...))
	wantHostActions(t, cs, h.Addr, "File/stw-full failed")
	if m := cs.Changes[0].Message; !strings.Contains(m, "write /srv/stw-full/data") {
		t.Fatalf("message %q", m)
	}
	if got := guest(t, h, "cat /srv/stw-full/data; ls -A /srv/stw-full"); got != "old\ndata" {
		t.Fatalf("after the failed write: %q", got)
	}
}

// TestRealPlanIsHarmless: planning every kind against a real host (a unit
// to create and start, packages to install, a user, files, a guarded
// command whose guard runs) changes nothing on it: /etc, /srv, /home, the
// dpkg database and the units systemd runs (less the login sessions the
// SSH connection itself brings) are the same before and after.
func TestRealPlanIsHarmless(t *testing.T) {
	hosts := realHosts(t)
	h := hosts[2]
	f := newRealFleet(t, hosts[2:3], nil)
	state := func() string {
		return guest(t, h, `find /etc /srv /home /var/lib/dpkg /var/lib/steward -xdev -printf '%p %m %u %g %s %T@\n' 2>/dev/null | sort | sha256sum
systemctl list-units --all --no-legend --plain | grep -v -e '^session-' -e '^user@' -e '^user-runtime-dir@' -e '^user-0.slice' | sort | sha256sum`)
	}
	objs := objects(t, `apiVersion: machine.steward.dev/v1
kind: User
metadata: {name: stwplan}
---
apiVersion: machine.steward.dev/v1
kind: Package
metadata: {name: sl}
---
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: stw-plan}
spec: {path: /etc/stw-plan.conf, content: "x\n", owner: stwplan}
---
apiVersion: machine.steward.dev/v1
kind: Command
metadata: {name: stw-plan-init}
spec: {run: [touch, /srv/stw-plan-init], unless: [test, -e, /srv/stw-plan-init]}
---
apiVersion: machine.steward.dev/v1
kind: Unit
metadata: {name: stw-plan}
spec:
  content: "[Service]\nExecStart=/bin/sleep infinity\n"
  state: running
  watches: [File/stw-plan]
`)
	before := state()
	p, err := f.target.Plan(t.Context(), unitRequest("stw-plan", "r1", objs...))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Changes); n != 5 || !p.HasChanges() {
		t.Fatalf("plan: %+v", p.Changes)
	}
	if after := state(); after != before {
		t.Fatalf("planning changed the host:\n%s\n%s", before, after)
	}
}
