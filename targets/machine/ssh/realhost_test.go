package ssh

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv/realhost"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
)

// guests are the real Debian hosts (systemd as PID 1, real apt) the tests
// of this package share: booted on first use, stopped by TestMain. Each
// test uses names of its own (units, packages, users, paths), so they can
// share hosts.
var guests struct {
	once  sync.Once
	hosts []*realhost.Host
	err   error
	boot  time.Duration
}

const nGuests = 3

func TestMain(m *testing.M) {
	code := m.Run()
	for _, h := range guests.hosts {
		h.Stop()
	}
	os.Exit(code)
}

// realHosts returns the shared guests, booting them the first time.
func realHosts(t testing.TB) []*realhost.Host {
	t.Helper()
	guests.once.Do(func() {
		begin := time.Now()
		guests.hosts, guests.err = realhost.StartN(context.Background(), nGuests, realhost.DefaultOptions())
		guests.boot = time.Since(begin)
	})
	realhost.Require(t, guests.err)
	t.Logf("%d real hosts (booted in %s)", len(guests.hosts), guests.boot.Round(time.Millisecond))
	return guests.hosts
}

// realFleet is a machine target over real hosts through this package's
// Dialer, as steward runs one: root login with a credentials file, host keys
// from the hosts' known_hosts, paths under "/".
type realFleet struct {
	hosts  []*realhost.Host
	cfg    machine.Config
	target *machine.Target
	dial   func(ctx context.Context, host string) (machine.Transport, error)
}

func newRealFleet(t testing.TB, hosts []*realhost.Host, edit func(*machine.Config)) *realFleet {
	t.Helper()
	creds := t.TempDir()
	key, err := os.ReadFile(hosts[0].ClientKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, "guest-ssh"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	base := DefaultConfig()
	base.User = "root"
	base.KeyFile = "guest-ssh"
	f := &realFleet{hosts: hosts, dial: Dialer(base, creds, hosts[0].KnownHostsPath)}
	addrs := make([]string, len(hosts))
	for i, h := range hosts {
		addrs[i] = h.Addr
	}
	f.cfg = machine.DefaultConfig(addrs...)
	f.cfg.Name = "guests"
	// The guests' package index is the cached base's: refreshed once a day,
	// so a package the mirror has since replaced still installs.
	f.cfg.PackageCacheMaxAge = 24 * time.Hour
	if edit != nil {
		edit(&f.cfg)
	}
	f.target = machine.New(f.cfg, f.dial)
	return f
}

// apply plans and applies req and returns the change set; apply errors
// (an aborted run) fail the test, failed changes do not.
func (f *realFleet) apply(t testing.TB, ctx context.Context, req reconcile.ApplyRequest) *reconcile.ChangeSet {
	t.Helper()
	p, err := f.target.Plan(ctx, req)
	if err != nil {
		t.Fatalf("plan %s: %v", req.Revision, err)
	}
	cs, err := f.target.Apply(ctx, p)
	if err != nil {
		t.Fatalf("apply %s: %v", req.Revision, err)
	}
	return cs
}

// sync is apply that fails the test on any failed change.
func (f *realFleet) sync(t testing.TB, req reconcile.ApplyRequest) *reconcile.ChangeSet {
	t.Helper()
	cs := f.apply(t, context.Background(), req)
	if failed := cs.Failed(); len(failed) > 0 {
		t.Fatalf("%s failed: %+v", req.Revision, failed)
	}
	return cs
}

func unitRequest(unit, rev string, objs ...*reconcile.Object) reconcile.ApplyRequest {
	return reconcile.ApplyRequest{Unit: &reconcile.Unit{Name: unit, Prune: true}, Revision: rev, Objects: objs}
}

// guest runs a shell command inside h (not over SSH: through nsenter) and
// returns its trimmed output: how the tests look at a guest independently
// of the transport under test.
func guest(t testing.TB, h *realhost.Host, script string) string {
	t.Helper()
	out, err := h.Exec(context.Background(), "sh", "-c", script)
	if err != nil {
		t.Fatalf("guest %s: %v", h.Name, err)
	}
	return strings.TrimSpace(out)
}

// actionsOf renders the changes of one host as "Kind/name action".
func actionsOf(cs *reconcile.ChangeSet, host string) []string {
	var out []string
	for _, c := range cs.Changes {
		if c.Host == host {
			out = append(out, fmt.Sprintf("%s/%s %s", c.Object.Kind, c.Object.Name, c.Action))
		}
	}
	return out
}

func wantHostActions(t *testing.T, cs *reconcile.ChangeSet, host string, want ...string) {
	t.Helper()
	got := actionsOf(cs, host)
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Fatalf("%s changes:\n  got  %q\n  want %q\nfull: %+v", host, got, want, cs.Changes)
	}
}

// newTargetWith is the fleet's target with its connections through pool,
// as the reconciler wires it: one connection per host for many runs.
func newTargetWith(f *realFleet, pool *Pool) *machine.Target {
	cfg := f.cfg
	cfg.Connections = pool
	return machine.New(cfg, pool.Dial)
}
