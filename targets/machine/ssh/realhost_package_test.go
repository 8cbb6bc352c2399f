package ssh

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv/realhost"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
)

func pkgObjects(t *testing.T, specs ...string) []*reconcile.Object {
	t.Helper()
	var docs []string
	for _, s := range specs {
		name, spec, _ := strings.Cut(s, " ")
		docs = append(docs, fmt.Sprintf("apiVersion: machine.steward.dev/v1\nkind: Package\nmetadata: {name: %s}\nspec: {%s}\n", name, spec))
	}
	return objects(t, strings.Join(docs, "---\n"))
}

// localRepo makes a flat apt repository inside the guest (file:/srv/stw-repo)
// with tiny packages built there by dpkg-deb, one per "name=version", and
// adds it to the guest's sources without refreshing the index: until an
// `apt-get update`, apt does not know these packages. It returns a function
// that removes the repository again.
func localRepo(t testing.TB, h *realhost.Host, pkgs ...string) {
	t.Helper()
	script := "set -e\nrm -rf /srv/stw-repo /tmp/stw-build\nmkdir -p /srv/stw-repo\n"
	for _, p := range pkgs {
		name, version, _ := strings.Cut(p, "=")
		d := "/tmp/stw-build/" + name + "_" + version
		script += fmt.Sprintf(`mkdir -p %[3]s/DEBIAN %[3]s/usr/share/%[1]s
printf 'Package: %[1]s\nVersion: %[2]s\nArchitecture: all\nMaintainer: steward tests <tests@invalid>\nDescription: steward test package\n' > %[3]s/DEBIAN/control
echo %[2]s > %[3]s/usr/share/%[1]s/version
dpkg-deb --root-owner-group --build %[3]s /srv/stw-repo/%[1]s_%[2]s_all.deb >/dev/null
`, name, version, d)
	}
	script += `cd /srv/stw-repo
for deb in *.deb; do
  dpkg-deb -f "$deb" Package Version Architecture Maintainer Description
  echo "Filename: ./$deb"
  echo "Size: $(stat -c %s "$deb")"
  echo "SHA256: $(sha256sum "$deb" | cut -d' ' -f1)"
  echo
done > Packages
echo 'deb [trusted=yes] file:/srv/stw-repo ./' > /etc/apt/sources.list.d/stw-repo.list
`
	guest(t, h, script)
	t.Cleanup(func() {
		h.Exec(context.Background(), "rm", "-rf", "/srv/stw-repo", "/tmp/stw-build", "/etc/apt/sources.list.d/stw-repo.list")
	})
}

// TestRealPackage installs, pins, downgrades and removes packages with the
// guest's real apt: hello from the Debian mirror the guest's sources name,
// and a package of two versions from a repository made in the guest, which
// apt learns about only when steward refreshes its index.
func TestRealPackage(t *testing.T) {
	hosts := realHosts(t)
	h := hosts[0]
	localRepo(t, h, "stw-tool=1.0-1", "stw-tool=2.0-1")
	f := newRealFleet(t, hosts[:1], nil)
	installed := func(name string) string {
		return guest(t, h, "dpkg-query -W -f='${Status} ${Version}' "+name+" 2>/dev/null | sed -n 's/^install ok installed //p'")
	}

	cs := f.sync(t, unitRequest("stw-pkg", "r1", pkgObjects(t, "hello", "stw-tool version: \"2.0\"")...))
	wantHostActions(t, cs, h.Addr, "Package/hello created", "Package/stw-tool created")
	if d := cs.Changes[1].Diff; d != "install package stw-tool=2.0 (refreshing the package index first: stw-tool=2.0 is not in it)\n" {
		t.Fatalf("diff %q", d)
	}
	if installed("hello") == "" || installed("stw-tool") != "2.0-1" {
		t.Fatalf("after r1: hello %q stw-tool %q", installed("hello"), installed("stw-tool"))
	}

	cs = f.sync(t, unitRequest("stw-pkg", "r2", pkgObjects(t, "hello", "stw-tool version: \"1.0\"")...))
	wantHostActions(t, cs, h.Addr, "Package/hello unchanged", "Package/stw-tool configured")
	if d := cs.Changes[1].Diff; d != "downgrade package stw-tool 2.0-1 -> 1.0\n" {
		t.Fatalf("diff %q", d)
	}
	if got := installed("stw-tool"); got != "1.0-1" {
		t.Fatalf("stw-tool %q after the downgrade, want 1.0-1", got)
	}
	if cs := f.sync(t, unitRequest("stw-pkg", "r2", pkgObjects(t, "hello", "stw-tool version: \"1.0\"")...)); cs.HasChanges() {
		t.Fatalf("no-op run changed: %+v", cs.Changes)
	}

	cs = f.sync(t, unitRequest("stw-pkg", "r3", pkgObjects(t, "hello state: absent", "stw-tool version: \"1.0\"")...))
	wantHostActions(t, cs, h.Addr, "Package/hello configured", "Package/stw-tool unchanged")
	if got := installed("hello"); got != "" {
		t.Fatalf("hello still installed: %s", got)
	}

	// An unknown package: apt's own error, after one refresh of the index.
	cs = f.apply(t, t.Context(), unitRequest("stw-pkg", "r4", pkgObjects(t, "stw-no-such-package", "stw-tool version: \"1.0\"")...))
	wantHostActions(t, cs, h.Addr, "Package/stw-no-such-package failed", "Package/stw-tool unchanged")
	if d := cs.Changes[0].Diff; !strings.Contains(d, "refreshing the package index first: stw-no-such-package is not in it") {
		t.Errorf("diff %q", d)
	}
	if m := cs.Changes[0].Message; !strings.Contains(m, "E: Unable to locate package stw-no-such-package") {
		t.Errorf("message does not quote apt: %q", m)
	}
	f.sync(t, unitRequest("stw-pkg", "r5"))
	if got := installed("stw-tool"); got != "" {
		t.Fatalf("prune left stw-tool %s installed", got)
	}
}

// TestRealPackageIndexRefresh: two packages the guest's index does not know
// are installed after one `apt-get update` (counted by apt's own Post-Invoke
// hook), and an index older than the maximum cache age is refreshed before
// installing a package it knows.
func TestRealPackageIndexRefresh(t *testing.T) {
	hosts := realHosts(t)
	h := hosts[1]
	updates := func() int {
		n, err := strconv.Atoi(guest(t, h, "cat /root/stw-updates 2>/dev/null | wc -l"))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	localRepo(t, h, "stw-one=1.0", "stw-two=1.0", "stw-three=1.0")
	guest(t, h, `echo 'APT::Update::Post-Invoke { "echo update >> /root/stw-updates"; };' > /etc/apt/apt.conf.d/99stw-count`)
	t.Cleanup(func() {
		h.Exec(context.Background(), "rm", "-f", "/etc/apt/apt.conf.d/99stw-count", "/root/stw-updates")
	})
	f := newRealFleet(t, hosts[1:2], nil)
	cs := f.sync(t, unitRequest("stw-refresh", "r1", pkgObjects(t, "stw-one", "stw-two")...))
	for i, c := range cs.Changes {
		if !strings.Contains(c.Diff, "refreshing the package index first") {
			t.Errorf("change %d diff %q", i, c.Diff)
		}
	}
	if n := updates(); n != 1 {
		t.Fatalf("apt-get update ran %d times in one run, want 1", n)
	}

	aged := newRealFleet(t, hosts[1:2], func(c *machine.Config) { c.PackageCacheMaxAge = time.Nanosecond })
	cs = aged.sync(t, unitRequest("stw-refresh", "r2", pkgObjects(t, "stw-one", "stw-two", "stw-three")...))
	wantHostActions(t, cs, h.Addr, "Package/stw-one unchanged", "Package/stw-three created", "Package/stw-two unchanged")
	if d := cs.Changes[1].Diff; d != "install package stw-three (refreshing the package index first: older than 1ns)\n" {
		t.Fatalf("diff %q", d)
	}
	if n := updates(); n != 2 {
		t.Fatalf("apt-get update ran %d times in all, want 2", n)
	}
	f.sync(t, unitRequest("stw-refresh", "r3"))
}

// TestRealPackageLockHeld: while another process holds the dpkg lock, apt
// waits up to the target's bound; past it the change fails with apt's own
// message, and once the lock is free the same install goes through.
func TestRealPackageLockHeld(t *testing.T) {
	hosts := realHosts(t)
	h := hosts[2]
	hold := func(seconds int) {
		guest(t, h, fmt.Sprintf(`cat > /root/stw-lock.pl <<'PERL'
use Fcntl;
open(my $fh, ">>", "/var/lib/dpkg/lock-frontend") or die "open: $!";
my $lk = pack("s s x4 q q i x4", F_WRLCK, 0, 0, 0, 0);
fcntl($fh, F_SETLK, $lk) or die "lock: $!";
$| = 1;
print "locked\n";
sleep %d;
PERL
systemd-run --quiet --unit stw-lock-$$ --collect perl /root/stw-lock.pl
for i in $(seq 100); do journalctl --quiet -o cat -u 'stw-lock-*' | grep -q locked && exit 0; sleep 0.1; done
echo "the lock holder did not start" >&2; exit 1`, seconds))
	}
	hold(600)
	short := newRealFleet(t, hosts[2:3], func(c *machine.Config) { c.PackageLockTimeout = time.Second })
	cs := short.apply(t, t.Context(), unitRequest("stw-lock", "r1", pkgObjects(t, "hello")...))
	wantHostActions(t, cs, h.Addr, "Package/hello failed")
	if m := cs.Changes[0].Message; !strings.Contains(m, "E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend)") {
		t.Fatalf("message does not quote apt's lock error: %q", m)
	}
	guest(t, h, "systemctl stop 'stw-lock-*'")
	hold(3)
	f := newRealFleet(t, hosts[2:3], nil)
	f.sync(t, unitRequest("stw-lock", "r1", pkgObjects(t, "hello")...))
	f.sync(t, unitRequest("stw-lock", "r2"))
}
