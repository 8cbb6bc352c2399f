package ssh

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/sshd"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
)

// rooted gives each loopback test host its own tree: all sshd test hosts
// share this machine's filesystem, so paths the target sends (already under
// the target's root, "/" here) are put under the host's Root, and commands
// get HOST_ROOT in their environment. A real fleet needs none of this.
type rooted struct {
	machine.Transport
	root string
	env  map[string]string // per-host command environment (shim logs)
}

func (r rooted) p(p string) string { return path.Join(r.root, p) }

func (r rooted) Stat(ctx context.Context, p string) (*machine.FileInfo, error) {
	return r.Transport.Stat(ctx, r.p(p))
}

func (r rooted) ReadFile(ctx context.Context, p string) ([]byte, error) {
	return r.Transport.ReadFile(ctx, r.p(p))
}

func (r rooted) WriteFile(ctx context.Context, p string, c io.Reader, a machine.FileAttrs) error {
	return r.Transport.WriteFile(ctx, r.p(p), c, a)
}

func (r rooted) Mkdir(ctx context.Context, p string, a machine.FileAttrs) error {
	return r.Transport.Mkdir(ctx, r.p(p), a)
}

func (r rooted) SetAttrs(ctx context.Context, p string, a machine.FileAttrs) error {
	return r.Transport.SetAttrs(ctx, r.p(p), a)
}

func (r rooted) Remove(ctx context.Context, p string) error { return r.Transport.Remove(ctx, r.p(p)) }

func (r rooted) Run(ctx context.Context, cmd machine.Cmd) (*machine.CmdResult, error) {
	env := maps.Clone(cmd.Env)
	if env == nil {
		env = map[string]string{}
	}
	env["HOST_ROOT"] = r.root
	maps.Copy(env, r.env)
	cmd.Env = env
	return r.Transport.Run(ctx, cmd)
}

// fleet is a machine target over real sshd hosts, reached through Dialer
// with the client key installed as a credentials file.
type fleet struct {
	hosts  []*sshd.Host
	byAddr map[string]*sshd.Host
	target *machine.Target
	dials  func() int
	// pool, when set by usePool, shares one connection per host per sync.
	pool    *Pool
	rawDial func(ctx context.Context, host string) (machine.Transport, error)
}

// usePool makes every sync use one connection per host for its plan and
// apply, as a run of the reconciler would with a Pool.
func (f *fleet) usePool() { f.pool = NewPool(f.rawDial) }

func newFleet(tb testing.TB, hosts []*sshd.Host, parallel int) *fleet {
	return newFleetEnv(tb, hosts, parallel, nil)
}

// newFleetEnv is newFleet with hostEnv(host) added to every command on
// that host.
func newFleetEnv(tb testing.TB, hosts []*sshd.Host, parallel int, hostEnv func(*sshd.Host) map[string]string) *fleet {
	tb.Helper()
	creds := tb.TempDir()
	key, err := os.ReadFile(hosts[0].ClientKeyPath)
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, "fleet-ssh"), key, 0o600); err != nil {
		tb.Fatal(err)
	}
	base := DefaultConfig()
	base.User = hosts[0].User
	base.KeyFile = "fleet-ssh"
	dial := Dialer(base, creds, hosts[0].KnownHostsPath)
	f := &fleet{hosts: hosts, byAddr: map[string]*sshd.Host{}}
	addrs := make([]string, len(hosts))
	for i, h := range hosts {
		addrs[i] = h.Addr
		f.byAddr[h.Addr] = h
	}
	cfg := machine.DefaultConfig(addrs...)
	cfg.Name = "fleet"
	cfg.Parallel = parallel
	f.rawDial = func(ctx context.Context, host string) (machine.Transport, error) {
		tr, err := dial(ctx, host)
		if err != nil {
			return nil, err
		}
		h := f.byAddr[host]
		r := rooted{Transport: tr, root: h.Root}
		if hostEnv != nil {
			r.env = hostEnv(h)
		}
		return r, nil
	}
	f.target = machine.New(cfg, func(ctx context.Context, host string) (machine.Transport, error) {
		if f.pool != nil {
			return f.pool.Dial(ctx, host)
		}
		return f.rawDial(ctx, host)
	})
	f.dials = func() int {
		n := 0
		for _, h := range hosts {
			n += h.Accepted()
		}
		return n
	}
	return f
}

func (f *fleet) sync(tb testing.TB, req reconcile.ApplyRequest) *reconcile.ChangeSet {
	tb.Helper()
	if f.pool != nil {
		f.pool = NewPool(f.rawDial)
		defer f.pool.Close()
	}
	p, err := f.target.Plan(context.Background(), req)
	if err != nil {
		tb.Fatalf("plan: %v", err)
	}
	cs, err := f.target.Apply(context.Background(), p)
	if err != nil {
		tb.Fatalf("apply: %v", err)
	}
	if failed := cs.Failed(); len(failed) > 0 {
		tb.Fatalf("apply failed: %+v", failed)
	}
	return cs
}

func request(rev string, prune bool, objs ...*reconcile.Object) reconcile.ApplyRequest {
	return reconcile.ApplyRequest{Unit: &reconcile.Unit{Name: "web", Prune: prune}, Revision: rev, Objects: objs}
}

func objects(tb testing.TB, y string) []*reconcile.Object {
	tb.Helper()
	objs, err := reconcile.DecodeObjects([]byte(y), "test.yaml")
	if err != nil {
		tb.Fatalf("decode: %v", err)
	}
	return objs
}

// treeSum is a checksum of every path, mode, owner, size, mtime and content
// under dir.
func treeSum(tb testing.TB, dir string) string {
	tb.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		fmt.Fprintf(h, "%s %v %d %d %d %d\n", strings.TrimPrefix(p, dir), fi.Mode(), st.Uid, st.Gid, fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}
