package machine_test

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
	"github.com/stewardhq/steward/targets/machine/local"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// shims is a test host's command environment for dnf, which does not run
// here: the recording shims of testdata/shims (dnf, rpm) come first on
// PATH, log their argv to a log file and keep just enough state (installed
// packages) for steward's queries to see its own changes. Tests assert the
// exact command sequence from the log. Everything else (systemd, apt,
// accounts) is tested on real hosts in package ssh.
type shims struct {
	log   string
	state string
	env   map[string]string
}

func newShims(t *testing.T) *shims {
	t.Helper()
	dir, err := filepath.Abs("testdata/shims")
	if err != nil {
		t.Fatal(err)
	}
	s := &shims{log: filepath.Join(t.TempDir(), "calls.log"), state: t.TempDir()}
	s.env = map[string]string{
		"PATH":       dir + string(os.PathListSeparator) + os.Getenv("PATH"),
		"SHIM_LOG":   s.log,
		"SHIM_STATE": s.state,
	}
	return s
}

// calls returns the logged commands and clears the log.
func (s *shims) calls(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(s.log)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	_ = os.Remove(s.log)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if l == "" {
			continue
		}
		out = append(out, l)
	}
	return out
}

// rig is a machine target over local "hosts", each a temporary root.
type rig struct {
	t      *testing.T
	roots  map[string]string
	shims  *shims
	target *machine.Target
	cfg    machine.Config
	wrap   func(host string, tr machine.Transport) machine.Transport
}

func newRig(t *testing.T, hosts ...string) *rig {
	t.Helper()
	if len(hosts) == 0 {
		hosts = []string{"h1"}
	}
	r := &rig{t: t, roots: map[string]string{}, shims: newShims(t)}
	for _, h := range hosts {
		r.roots[h] = t.TempDir()
	}
	r.cfg = machine.DefaultConfig(hosts...)
	r.cfg.Name = "test"
	r.cfg.Env = r.shims.env
	r.cfg.PackageManager = machine.PackageManagerDnf
	r.build()
	return r
}

// build makes the target from cfg; call after changing cfg.
func (r *rig) build() {
	local := local.Dialer(r.roots, nil)
	r.target = machine.New(r.cfg, func(ctx context.Context, host string) (machine.Transport, error) {
		tr, err := local(ctx, host)
		if err != nil || r.wrap == nil {
			return tr, err
		}
		return r.wrap(host, tr), nil
	})
}

func (r *rig) root(host string) string {
	if host == "" {
		host = r.cfg.Hosts[0]
	}
	return r.roots[host]
}

// file returns the content of p under host's root ("" for the first host).
func (r *rig) file(host, p string) string {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.root(host), p))
	if err != nil {
		r.t.Fatalf("read %s on %s: %v", p, host, err)
	}
	return string(b)
}

func (r *rig) exists(host, p string) bool {
	_, err := os.Lstat(filepath.Join(r.root(host), p))
	return err == nil
}

func (r *rig) write(host, p, content string, mode fs.FileMode) {
	r.t.Helper()
	full := filepath.Join(r.root(host), p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Chmod(full, mode); err != nil {
		r.t.Fatal(err)
	}
}

func request(unit, rev string, prune bool, objs ...*reconcile.Object) reconcile.ApplyRequest {
	return reconcile.ApplyRequest{Unit: &reconcile.Unit{Name: unit, Prune: prune}, Revision: rev, Objects: objs}
}

func (r *rig) plan(req reconcile.ApplyRequest) *reconcile.Plan {
	r.t.Helper()
	p, err := r.target.Plan(context.Background(), req)
	if err != nil {
		r.t.Fatalf("plan: %v", err)
	}
	return p
}

// sync plans and applies req and returns the change set.
func (r *rig) sync(req reconcile.ApplyRequest) *reconcile.ChangeSet {
	r.t.Helper()
	cs, err := r.target.Apply(context.Background(), r.plan(req))
	if err != nil {
		r.t.Fatalf("apply: %v", err)
	}
	return cs
}

// actions renders changes as "host Kind/name action" lines.
func actions(cs []reconcile.Change) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = fmt.Sprintf("%s %s %s", c.Host, c.Object, c.Action)
	}
	return out
}

func wantActions(t *testing.T, got []reconcile.Change, want ...string) {
	t.Helper()
	if g := actions(got); !slices.Equal(g, want) {
		t.Fatalf("changes:\n  got  %q\n  want %q\nfull: %+v", g, want, got)
	}
}

// obj builds a machine object from YAML.
func obj(t testing.TB, y string) *reconcile.Object {
	t.Helper()
	objs, err := reconcile.DecodeObjects([]byte(y), "test.yaml")
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(objs) != 1 {
		t.Fatalf("want one object, got %d", len(objs))
	}
	return objs[0]
}

// treeSum is a checksum of every path, type, mode, owner, size and
// content under dir.
func treeSum(t *testing.T, dir string) string {
	t.Helper()
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
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// golden compares got with testdata/NAME, rewriting it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run with -update after checking):\n--- want\n%s\n--- got\n%s", p, want, got)
	}
}
