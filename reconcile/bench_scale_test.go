package reconcile_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/generators/yaml"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/sources/git"
	"github.com/stewardhq/steward/targets/machine/local"
)

// scaleSizes returns the unit counts of a scale series: 1000, 3000 and
// 10 000, or those STEWARD_SCALE_SIZES lists.
func scaleSizes(b *testing.B) []int {
	v := os.Getenv("STEWARD_SCALE_SIZES")
	if v == "" {
		return []int{1000, 3000, 10000}
	}
	var sizes []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("STEWARD_SCALE_SIZES: %q is not a unit count", f)
		}
		sizes = append(sizes, n)
	}
	return sizes
}

// liveHeapMiB collects and returns the heap then live, in MiB.
func liveHeapMiB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

// cpuTime returns the CPU time this process has used (user and system).
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type benchClock struct{ now time.Time }

func (c *benchClock) Now() time.Time          { return c.now }
func (c *benchClock) Advance(d time.Duration) { c.now = c.now.Add(d) }

// scaleReconciler returns a reconciler over a fresh repository of n units
// of 4 Files each, applying under a temp directory.
func scaleReconciler(b *testing.B, n int) (*reconcile.Reconciler, *benchClock) {
	b.Helper()
	r, clock, _ := scaleReconcilerWith(b, n, nil)
	return r, clock
}

// scaleReconcilerWith is scaleReconciler with stages changed by stages
// (when not nil); it also returns the repository, for commits.
func scaleReconcilerWith(b *testing.B, n int, stages func(*reconcile.Stages)) (*reconcile.Reconciler, *benchClock, string) {
	b.Helper()
	repo, root := b.TempDir(), b.TempDir()
	var stack strings.Builder
	stack.WriteString("apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: out}}\nunits:\n")
	for u := range n {
		name := fmt.Sprintf("u%05d", u)
		fmt.Fprintf(&stack, "  - {name: %s, path: units/%s, generator: {yaml: {}}, target: here}\n", name, name)
		var f strings.Builder
		for i := range 4 {
			fmt.Fprintf(&f, "---\napiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: %s-f%d}\nspec: {path: /srv/%s/f%d.conf, content: \"unit %s file %d\\n\", mode: \"0644\"}\n", name, i, name, i, name, i)
		}
		dir := filepath.Join(repo, "units", name)
		must(b, os.MkdirAll(dir, 0o755))
		must(b, os.WriteFile(filepath.Join(dir, "files.yaml"), []byte(f.String()), 0o644))
	}
	must(b, os.WriteFile(filepath.Join(repo, "steward.yaml"), []byte(stack.String()), 0o644))
	gitRun(b, repo, "init", "-q", "-b", "main")
	gitCommit(b, repo, "fleet")
	opts := git.DefaultSourceOptions()
	opts.URL, opts.CacheDir = "file://"+repo, b.TempDir()
	src, err := git.NewSource(opts)
	must(b, err)
	clock := &benchClock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	ropts := reconcile.DefaultReconcilerOptions()
	ropts.Source = src
	rend := reconcile.DefaultRenderOptions()
	rend.Generators = func(u *reconcile.Unit) (reconcile.Generator, error) { return yaml.New(u.Generator.YAML), nil }
	ropts.Stages = reconcile.Stages{Renderer: reconcile.NewRenderer(rend)}
	if stages != nil {
		stages(&ropts.Stages)
	}
	ropts.Targets = func(_ context.Context, name string, spec reconcile.TargetSpec) (reconcile.Target, error) {
		return local.NewTarget(name, filepath.Join(root, spec.Local.Root), nil), nil
	}
	ropts.Now, ropts.Interval, ropts.Concurrency = clock.Now, time.Hour, 8
	return reconcile.NewReconciler(ropts), clock, repo
}

// gitCommit commits everything in repo with message msg.
func gitCommit(tb testing.TB, repo, msg string) {
	tb.Helper()
	gitRun(tb, repo, "add", "-A")
	gitRun(tb, repo, "commit", "-q", "-m", msg)
}

func gitRun(tb testing.TB, repo string, args ...string) {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@example.com",
		"GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
