package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
)

// driftRig is a local target over one root whose reads are recorded in
// seen; its clock runs later than the host's when trusted is set, so that
// a file just written counts as old enough to be recorded.
type driftRig struct {
	t      *testing.T
	root   string
	seen   *seenFiles
	target *machine.Target
}

func newDriftRig(t *testing.T, trusted bool) *driftRig {
	t.Helper()
	d := &driftRig{t: t, root: t.TempDir(), seen: newSeenFiles()}
	if trusted {
		d.seen.now = func() time.Time { return time.Now().Add(time.Hour) }
	}
	cfg := machine.DefaultConfig(Host)
	cfg.Name = "here"
	d.target = machine.New(cfg, dialer(map[string]string{Host: d.root}, nil, d.seen))
	return d
}

// filesRequest is unit's request for n Files under /srv/<unit>/.
func filesRequest(t *testing.T, unit string, n int, owner string) reconcile.ApplyRequest {
	t.Helper()
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "---\napiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: %s-f%d}\n"+
			"spec: {path: /srv/%s/f%d.conf, content: \"unit %s file %d\\n\", mode: \"0644\"%s}\n", unit, i, unit, i, unit, i, owner)
	}
	objs, err := reconcile.DecodeObjects([]byte(b.String()), unit+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return reconcile.ApplyRequest{Unit: &reconcile.Unit{Name: unit}, Revision: "r1", Objects: objs}
}

// sync plans and applies req and returns the changes that did something.
func (d *driftRig) sync(req reconcile.ApplyRequest) []reconcile.Change {
	d.t.Helper()
	plan, err := d.target.Plan(context.Background(), req)
	if err != nil {
		d.t.Fatalf("plan: %v", err)
	}
	cs, err := d.target.Apply(context.Background(), plan)
	if err != nil {
		d.t.Fatalf("apply: %v", err)
	}
	var out []reconcile.Change
	for _, c := range cs.Changes {
		if c.Action != reconcile.Unchanged {
			out = append(out, c)
		}
	}
	return out
}

// fsClockPast waits until the file system stamps a change later than
// ctime, by changing a scratch file in dir until its ctime is: a change
// made within the tick of the last one keeps the same ctime, which is
// what recording only older files guards against (see racyWindow).
func fsClockPast(t *testing.T, dir string, ctime time.Time) {
	t.Helper()
	scratch := filepath.Join(dir, ".clock")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if err := os.WriteFile(scratch, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if changeTime(t, scratch).After(ctime) {
			os.Remove(scratch)
			return
		}
	}
	t.Fatal("the file system clock did not move in 30 s")
}

func changeTime(t *testing.T, p string) time.Time {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return time.Unix(st.Ctim.Unix())
}

// TestLocalDriftBehindStewardsBack: a File steward found as wanted is not
// read again while unchanged, and every change made behind its back is
// still seen, even one that keeps the size and puts the mtime back: a
// next plan corrects it, and the plan after that finds nothing to do.
func TestLocalDriftBehindStewardsBack(t *testing.T) {
	const want = "unit u1 file 0\n"
	cases := []struct {
		name   string
		change func(t *testing.T, p, outside string)
		diff   string // in the change's diff
	}{
		{"edited in place, same size, mtime put back", func(t *testing.T, p, _ string) {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("X"), 0); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}, "-Xnit u1 file 0"},
		{"replaced by a file of the same size and mtime", func(t *testing.T, p, _ string) {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			tmp := p + ".new"
			if err := os.WriteFile(tmp, []byte(strings.ToUpper(want)), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(tmp, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, p); err != nil {
				t.Fatal(err)
			}
		}, "-UNIT U1 FILE 0"},
		{"mode changed", func(t *testing.T, p, _ string) {
			if err := os.Chmod(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "mode 0600 -> 0644"},
		{"owner changed", func(t *testing.T, p, _ string) {
			if os.Geteuid() != 0 {
				if os.Getenv("CI") != "" {
					t.Fatal("changing a file's owner needs root, and CI must test it")
				}
				t.Skip("changing a file's owner needs root")
			}
			if err := os.Lchown(p, 4321, -1); err != nil {
				t.Fatal(err)
			}
		}, "owner 4321 -> 0 (0)"},
		{"removed", func(t *testing.T, p, _ string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}, "+unit u1 file 0"},
		{"symlink swapped in", func(t *testing.T, p, outside string) {
			// To a file outside the root with the wanted content.
			target := filepath.Join(outside, "f0.conf")
			if err := os.WriteFile(target, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
		}, "replaces a symlink"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newDriftRig(t, true)
			outside := t.TempDir()
			req := filesRequest(t, "u1", 1, ", owner: \"0\"")
			if os.Geteuid() != 0 {
				req = filesRequest(t, "u1", 1, "")
			}
			if ch := d.sync(req); len(ch) != 1 || ch[0].Action != reconcile.Created {
				t.Fatalf("first apply: %v", ch)
			}
			if ch := d.sync(req); len(ch) != 0 { // reads the file and records it
				t.Fatalf("second apply changed %v", ch)
			}
			opens := d.seen.opens.Load()
			if ch := d.sync(req); len(ch) != 0 {
				t.Fatalf("third apply changed %v", ch)
			}
			if n := d.seen.opens.Load() - opens; n != 0 {
				t.Fatalf("a plan of an unchanged, recorded file and inventory opened %d files, want 0", n)
			}
			p := filepath.Join(d.root, "srv/u1/f0.conf")
			fsClockPast(t, d.root, changeTime(t, p))
			c.change(t, p, outside)
			ch := d.sync(req)
			if len(ch) != 1 || !strings.Contains(ch[0].Diff, c.diff) {
				t.Fatalf("after the change: %v, want one change with %q in its diff", ch, c.diff)
			}
			if ch := d.sync(req); len(ch) != 0 {
				t.Fatalf("after the correction: %v", ch)
			}
			fi, err := os.Lstat(p)
			if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
				t.Fatalf("corrected file: %v %v", fi, err)
			}
			if got, _ := os.ReadFile(p); string(got) != want {
				t.Fatalf("corrected content %q", got)
			}
			if got, _ := os.ReadFile(filepath.Join(outside, "f0.conf")); len(got) > 0 && string(got) != want {
				t.Fatalf("the file outside the root was written: %q", got)
			}
		})
	}
}

// TestLocalDriftRacyFileReadAgain: a file changed shortly before it is
// read (within racyWindow) is not recorded, so it is read again on the
// next plan: a change in the same clock tick would keep its ctime.
func TestLocalDriftRacyFileReadAgain(t *testing.T) {
	d := newDriftRig(t, false)
	req := filesRequest(t, "u1", 2, "")
	d.sync(req)
	for range 2 {
		opens := d.seen.opens.Load()
		if ch := d.sync(req); len(ch) != 0 {
			t.Fatalf("changed %v", ch)
		}
		if n := d.seen.opens.Load() - opens; n != 3 {
			t.Fatalf("a plan of files written just now opened %d files, want 3 (two files and the inventory)", n)
		}
	}
	// The same files, older than the window when read: recorded.
	d.seen.now = func() time.Time { return time.Now().Add(time.Hour) }
	d.sync(req)
	opens := d.seen.opens.Load()
	d.sync(req)
	if n := d.seen.opens.Load() - opens; n != 0 {
		t.Fatalf("a plan of recorded files and inventory opened %d files, want 0", n)
	}
}

// TestLocalDriftPassCostPerFile keeps a no-op drift pass linear: planning
// n units of 4 Files opens each unit's directories once (its files' and
// the inventory's), makes one stat per File, and opens no File that was
// recorded unchanged, the same per unit at 10 and at 100 units, where it
// used to walk from the root, an openat per path component, twice per
// File. The first plan after an apply reads each File and the inventory
// once; the next makes a stat of each.
func TestLocalDriftPassCostPerFile(t *testing.T) {
	type cost struct{ dirOpens, opens, stats int64 }
	perUnit := map[int][2]cost{}
	for _, n := range []int{10, 100} {
		d := newDriftRig(t, true)
		reqs := make([]reconcile.ApplyRequest, n)
		for u := range n {
			reqs[u] = filesRequest(t, fmt.Sprintf("u%03d", u), 4, "")
			d.sync(reqs[u])
		}
		var passes [2]cost
		for i := range passes {
			before := cost{d.seen.dirOpens.Load(), d.seen.opens.Load(), d.seen.stats.Load()}
			for _, req := range reqs {
				if ch := d.sync(req); len(ch) != 0 {
					t.Fatalf("%d units, pass %d changed %v", n, i, ch)
				}
			}
			c := cost{d.seen.dirOpens.Load() - before.dirOpens, d.seen.opens.Load() - before.opens, d.seen.stats.Load() - before.stats}
			passes[i] = cost{c.dirOpens / int64(n), c.opens / int64(n), c.stats / int64(n)}
			if c.dirOpens%int64(n) != 0 || c.opens%int64(n) != 0 || c.stats%int64(n) != 0 {
				t.Errorf("%d units, pass %d: %+v is not the same for every unit", n, i, c)
			}
		}
		perUnit[n] = passes
	}
	// Per unit: the directories /srv/uNNN and /var/lib/steward, and the
	// inventory and the 4 Files, read once then not at all.
	want := [2]cost{{dirOpens: 2, opens: 5, stats: 5}, {dirOpens: 2, opens: 0, stats: 5}}
	for n, got := range perUnit {
		if got != want {
			t.Errorf("%d units: per unit, first and second drift pass %+v, want %+v", n, got, want)
		}
	}
}

// TestLocalDriftInventoryChangedBehindStewardsBack: the target keeps the
// inventories it decoded and does not read one again while the transport
// sees it unchanged, yet an edit of the inventory file, with its mtime put
// back, is seen by the next plan; the bytes put back are planned with again.
func TestLocalDriftInventoryChangedBehindStewardsBack(t *testing.T) {
	d := newDriftRig(t, true)
	req := filesRequest(t, "u1", 1, "")
	d.sync(req)
	d.sync(req) // reads the inventory and records it
	opens := d.seen.opens.Load()
	if ch := d.sync(req); len(ch) != 0 || d.seen.opens.Load() != opens {
		t.Fatalf("a plan of a recorded inventory changed %v and opened %d files, want none", ch, d.seen.opens.Load()-opens)
	}
	p := filepath.Join(d.root, machine.InventoryDir, "u1.json")
	orig, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(content []byte) {
		t.Helper()
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		fsClockPast(t, d.root, changeTime(t, p))
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	edit([]byte(strings.Replace(string(orig), `"unit": "u1",`, `"unit": "u1", "stack": "another",`, 1)))
	if _, err := d.target.Plan(context.Background(), req); err == nil || !strings.Contains(err.Error(), `belongs to stack "another"`) {
		t.Fatalf("after the inventory was given to another stack: plan error %v, want it refused", err)
	}
	edit(orig)
	if ch := d.sync(req); len(ch) != 0 {
		t.Fatalf("after the inventory was put back: %v", ch)
	}
}
