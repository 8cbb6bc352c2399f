package reconcile_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/generators/yaml"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/sources/git"
	"github.com/stewardhq/steward/targets/machine"
	"github.com/stewardhq/steward/targets/machine/local"
)

// These tests run the reconciler over real parts: a git repository read
// through sources/git (file://), the yaml generator, and the local machine
// target writing under a temp root. Only the clock is the test's own.

type recorder struct {
	mu     sync.Mutex
	units  []reconcile.UnitEvent
	source []reconcile.SourceEvent
}

func (r *recorder) SourceChecked(e reconcile.SourceEvent) {
	r.mu.Lock()
	r.source = append(r.source, e)
	r.mu.Unlock()
}
func (r *recorder) UnitReconciled(e reconcile.UnitEvent) {
	r.mu.Lock()
	r.units = append(r.units, e)
	r.mu.Unlock()
}
func (r *recorder) PassCompleted(reconcile.PassEvent) {}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

type fixture struct {
	t     *testing.T
	repo  string
	root  string
	rec   *recorder
	clock *clock
	r     *reconcile.Reconciler
}

func newFixture(t *testing.T, files map[string]string) *fixture {
	t.Helper()
	return newFixtureWith(t, files, nil)
}

// newFixtureWith is newFixture with mod changing the reconciler's options.
func newFixtureWith(t *testing.T, files map[string]string, mod func(*reconcile.ReconcilerOptions)) *fixture {
	t.Helper()
	f := &fixture{t: t, repo: t.TempDir(), root: t.TempDir(), rec: &recorder{},
		clock: &clock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}}
	f.git("init", "-q", "-b", "main")
	f.commit("initial", files)
	opts := git.DefaultSourceOptions()
	opts.URL = "file://" + f.repo
	opts.CacheDir = t.TempDir()
	src, err := git.NewSource(opts)
	if err != nil {
		t.Fatal(err)
	}
	ropts := reconcile.DefaultReconcilerOptions()
	ropts.Source = src
	ropts.Stages.Renderer = reconcile.NewRenderer(reconcile.RenderOptions{Generators: func(u *reconcile.Unit) (reconcile.Generator, error) {
		return yaml.New(u.Generator.YAML), nil
	}})
	ropts.Stages.Checks = func(*reconcile.Stack) (reconcile.Checker, error) { return machineChecker{}, nil }
	ropts.Targets = func(_ context.Context, name string, spec reconcile.TargetSpec) (reconcile.Target, error) {
		return local.NewTarget(name, filepath.Join(f.root, name), nil), nil
	}
	ropts.Observer = f.rec
	ropts.Now = f.clock.Now
	ropts.Interval = time.Hour
	if mod != nil {
		mod(&ropts)
	}
	f.r = reconcile.NewReconciler(ropts)
	return f
}

// machineChecker refuses a revision holding an invalid machine object or a
// File whose content says "forbidden" (a stand-in for a CEL rule).
type machineChecker struct{}

func (machineChecker) Check(_ context.Context, rendered []reconcile.Rendered) (*reconcile.CheckReport, error) {
	rep := &reconcile.CheckReport{}
	for _, r := range rendered {
		for _, o := range r.Objects {
			if err := machine.Validate(o); err != nil {
				rep.Failures = append(rep.Failures, err)
			}
			if c, _, _ := unstructuredString(o.Object, "spec", "content"); strings.Contains(c, "forbidden") {
				rep.Failures = append(rep.Failures, &reconcile.UnitError{Unit: r.Unit.Name, Err: os.ErrPermission})
			}
		}
	}
	return rep, nil
}

func unstructuredString(m map[string]any, path ...string) (string, bool, error) {
	for _, p := range path[:len(path)-1] {
		m, _ = m[p].(map[string]any)
	}
	s, ok := m[path[len(path)-1]].(string)
	return s, ok, nil
}

func (f *fixture) git(args ...string) {
	f.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = f.repo
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		f.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func (f *fixture) commit(msg string, files map[string]string) {
	f.t.Helper()
	for name, content := range files {
		p := filepath.Join(f.repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	f.git("add", "-A")
	f.git("commit", "-q", "-m", msg)
}

func (f *fixture) pass(req reconcile.PassRequest) *reconcile.PassResult {
	f.t.Helper()
	f.rec.mu.Lock()
	f.rec.units = nil
	f.rec.mu.Unlock()
	res, err := f.r.Pass(context.Background(), req)
	if err != nil {
		f.t.Fatalf("pass: %v", err)
	}
	return res
}

func (f *fixture) read(target, path string) string {
	f.t.Helper()
	b, err := os.ReadFile(filepath.Join(f.root, target, path))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func (f *fixture) states(res *reconcile.PassResult) string {
	var parts []string
	for _, e := range res.Events {
		parts = append(parts, e.Unit.Name+"="+string(e.State))
	}
	return strings.Join(parts, " ")
}

func file(name, path, content string) string {
	return "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: " + name + "}\nspec: {path: " + path + ", content: \"" + content + "\", mode: \"0644\"}\n"
}

const stack = `apiVersion: steward.dev/v1
kind: Stack
targets:
  edge: {local: {root: edge}}
  core: {local: {root: core}}
units:
  - {name: app, path: app, generator: {yaml: {}}, target: edge, dependsOn: [base]}
  - {name: base, path: base, generator: {yaml: {}}, target: core}
`

func TestReconcilerAppliesInDependencyOrderAcrossTargets(t *testing.T) {
	f := newFixture(t, map[string]string{
		"steward.yaml": stack,
		"app/f.yaml":   file("conf", "/etc/app.conf", "v1"),
		"base/f.yaml":  file("motd", "/etc/motd", "base v1"),
	})
	res := f.pass(reconcile.PassRequest{})
	if got := f.states(res); got != "app=ready base=ready" {
		t.Fatalf("states = %s", got)
	}
	if first := f.rec.units[0].Unit.Name; first != "base" {
		t.Fatalf("%s reconciled before its dependency base", first)
	}
	if f.read("edge", "etc/app.conf") != "v1" || f.read("core", "etc/motd") != "base v1" {
		t.Fatalf("files not applied: %q %q", f.read("edge", "etc/app.conf"), f.read("core", "etc/motd"))
	}

	// Nothing changed and nothing is due: no unit is touched.
	if res := f.pass(reconcile.PassRequest{}); len(res.Events) != 0 {
		t.Fatalf("unchanged pass reconciled %s", f.states(res))
	}

	// A pushed commit changing one unit applies that unit only.
	f.commit("app v2", map[string]string{"app/f.yaml": file("conf", "/etc/app.conf", "v2")})
	res = f.pass(reconcile.PassRequest{})
	if got := f.states(res); got != "app=ready base=ready" || f.read("edge", "etc/app.conf") != "v2" {
		t.Fatalf("after push: states %q, file %q", got, f.read("edge", "etc/app.conf"))
	}
	for _, e := range res.Events {
		if (e.Unit.Name == "base") != (e.ChangeSet == nil) || e.Revision != res.Revision {
			t.Fatalf("unit %s: change set %v at %s; only the changed unit is applied, both are at the new revision", e.Unit.Name, e.ChangeSet, e.Revision)
		}
	}
}

func TestReconcilerRefusesFailingRevisionAndKeepsLastGood(t *testing.T) {
	f := newFixture(t, map[string]string{
		"steward.yaml": stack,
		"app/f.yaml":   file("conf", "/etc/app.conf", "good"),
		"base/f.yaml":  file("motd", "/etc/motd", "ok"),
	})
	good := f.pass(reconcile.PassRequest{}).Revision

	f.commit("bad check", map[string]string{"app/f.yaml": file("conf", "/etc/app.conf", "forbidden")})
	res := f.pass(reconcile.PassRequest{})
	if res.Refused == nil || res.Revision != good {
		t.Fatalf("failing revision not refused: refused=%v revision=%s (good %s)", res.Refused, res.Revision, good)
	}
	if got := f.read("edge", "etc/app.conf"); got != "good" {
		t.Fatalf("refused revision was applied: %q", got)
	}

	f.commit("invalid stack", map[string]string{"steward.yaml": stack + "  - {name: app, path: x, generator: {yaml: {}}, target: edge}\n"})
	res = f.pass(reconcile.PassRequest{})
	if res.Refused == nil || !strings.Contains(res.Refused.Error(), `steward.yaml:9:12: units[2].name: duplicate unit name "app"`) {
		t.Fatalf("invalid stack: refused = %v", res.Refused)
	}
	last := f.rec.source[len(f.rec.source)-1]
	if last.Refused == nil || last.Revision == nil || last.Revision.ID == good {
		t.Fatalf("observer not told which revision was refused: %+v", last)
	}

	f.commit("fixed", map[string]string{"steward.yaml": stack, "app/f.yaml": file("conf", "/etc/app.conf", "fixed")})
	if res := f.pass(reconcile.PassRequest{}); res.Refused != nil || f.read("edge", "etc/app.conf") != "fixed" {
		t.Fatalf("fixed revision: refused=%v file=%q", res.Refused, f.read("edge", "etc/app.conf"))
	}
}

func TestReconcilerFailureBacksOffAndBlocksDependents(t *testing.T) {
	f := newFixture(t, map[string]string{
		"steward.yaml": stack,
		"app/f.yaml":   file("conf", "/etc/app.conf", "v1"),
		"base/f.yaml":  file("motd", "/etc/motd/inside-a-file", "x"),
	})
	// Make /etc/motd a file so that writing /etc/motd/inside-a-file fails.
	if err := os.MkdirAll(filepath.Join(f.root, "core", "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.root, "core", "etc", "motd"), []byte("in the way"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := f.pass(reconcile.PassRequest{})
	if got := f.states(res); got != "app=blocked base=failed" {
		t.Fatalf("states = %s", got)
	}
	var base, app reconcile.UnitEvent
	for _, e := range res.Events {
		if e.Unit.Name == "base" {
			base = e
		} else {
			app = e
		}
	}
	if base.Err == nil || !base.NextRun.After(f.clock.Now()) {
		t.Fatalf("failed unit: err=%v next=%v", base.Err, base.NextRun)
	}
	if !strings.Contains(app.Reason, "waiting for dependency base (failed)") {
		t.Fatalf("blocked reason = %q", app.Reason)
	}
	if _, err := os.Stat(filepath.Join(f.root, "edge", "etc", "app.conf")); !os.IsNotExist(err) {
		t.Fatal("a unit was applied before its dependency was ready")
	}
	// Within the backoff nothing is retried.
	if res := f.pass(reconcile.PassRequest{}); len(res.Events) != 0 {
		t.Fatalf("retried inside the backoff: %s", f.states(res))
	}
	// Fixed by hand; after the backoff both converge.
	if err := os.Remove(filepath.Join(f.root, "core", "etc", "motd")); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(10 * time.Minute)
	if got := f.states(f.pass(reconcile.PassRequest{})); got != "app=ready base=ready" {
		t.Fatalf("after backoff: %s", got)
	}
}

func TestReconcilerDriftSuspendAndWindows(t *testing.T) {
	f := newFixture(t, map[string]string{
		"steward.yaml": stack,
		"app/f.yaml":   file("conf", "/etc/app.conf", "v1"),
		"base/f.yaml":  file("motd", "/etc/motd", "m"),
	})
	f.pass(reconcile.PassRequest{})

	// Drift: changed by hand, corrected at the interval.
	if err := os.WriteFile(filepath.Join(f.root, "edge", "etc", "app.conf"), []byte("hand edit"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Hour)
	res := f.pass(reconcile.PassRequest{})
	var drift int
	for _, e := range res.Events {
		drift += e.Drift
	}
	if drift != 1 || f.read("edge", "etc/app.conf") != "v1" {
		t.Fatalf("drift = %d, file %q", drift, f.read("edge", "etc/app.conf"))
	}

	// Suspend: a new commit is not applied until resumed.
	must(t, f.r.Suspend(context.Background(), "app"))
	f.commit("v2", map[string]string{"app/f.yaml": file("conf", "/etc/app.conf", "v2")})
	if got := f.states(f.pass(reconcile.PassRequest{})); got != "app=suspended base=ready" || f.read("edge", "etc/app.conf") != "v1" {
		t.Fatalf("suspended: %s, file %q", got, f.read("edge", "etc/app.conf"))
	}
	must(t, f.r.Resume(context.Background(), "app"))
	if got := f.states(f.pass(reconcile.PassRequest{})); got != "app=ready" || f.read("edge", "etc/app.conf") != "v2" {
		t.Fatalf("resumed: %s, file %q", got, f.read("edge", "etc/app.conf"))
	}

	// A deny window blocks; a manual sync gets through only with manualSync.
	withWindow := func(manual bool) string {
		return stack + "windows:\n  - {kind: deny, schedule: \"0 12 * * *\", duration: 2h, units: [app], manualSync: " + map[bool]string{true: "true", false: "false"}[manual] + "}\n"
	}
	f.commit("v3 in a deny window", map[string]string{"steward.yaml": withWindow(false), "app/f.yaml": file("conf", "/etc/app.conf", "v3")})
	f.clock.now = time.Date(2026, 11, 24, 12, 30, 0, 0, time.UTC)
	res = f.pass(reconcile.PassRequest{})
	if got := f.states(res); got != "app=blocked base=ready" || !strings.Contains(res.Events[0].Reason, "deny window") {
		t.Fatalf("deny window: %s %q", got, res.Events[0].Reason)
	}
	if got := f.states(f.pass(reconcile.PassRequest{Units: []string{"app"}, Manual: true})); got != "app=blocked" {
		t.Fatalf("manual sync without manualSync: %s", got)
	}
	f.commit("allow manual", map[string]string{"steward.yaml": withWindow(true)})
	if got := f.states(f.pass(reconcile.PassRequest{Units: []string{"app"}, Manual: true})); got != "app=ready base=ready" || f.read("edge", "etc/app.conf") != "v3" {
		t.Fatalf("manual sync with manualSync: %s, file %q", got, f.read("edge", "etc/app.conf"))
	}
	// An allow window: outside it nothing applies.
	f.commit("allow window", map[string]string{"steward.yaml": stack + "windows:\n  - {kind: allow, schedule: \"0 2 * * *\", duration: 1h}\n", "base/f.yaml": file("motd", "/etc/motd", "m2")})
	if got := f.states(f.pass(reconcile.PassRequest{})); got != "app=ready base=blocked" {
		t.Fatalf("outside allow window: %s", got)
	}
	f.clock.now = time.Date(2026, 11, 25, 2, 15, 0, 0, time.UTC)
	if got := f.states(f.pass(reconcile.PassRequest{})); got != "app=ready base=ready" || f.read("core", "etc/motd") != "m2" {
		t.Fatalf("inside allow window: %s", got)
	}
}

// TestReconcilerBlockedUnitAtNewRevision: a unit a window blocked is not
// reported ready at a later revision with its objects still unapplied, and a
// revision that lifts the block applies it at once (no block retry wait).
func TestReconcilerBlockedUnitAtNewRevision(t *testing.T) {
	f := newFixture(t, map[string]string{
		"steward.yaml": stack,
		"app/f.yaml":   file("conf", "/etc/app.conf", "v1"),
		"base/f.yaml":  file("motd", "/etc/motd", "m"),
	})
	f.pass(reconcile.PassRequest{})
	deny := stack + "windows:\n  - {kind: deny, schedule: \"* * * * *\", duration: 2h, units: [app]}\n"
	f.commit("v2 denied", map[string]string{"steward.yaml": deny, "app/f.yaml": file("conf", "/etc/app.conf", "v2")})
	if got := f.states(f.pass(reconcile.PassRequest{})); got != "app=blocked base=ready" {
		t.Fatalf("deny: %s", got)
	}
	f.commit("unrelated", map[string]string{"base/f.yaml": file("motd", "/etc/motd", "m2")})
	res := f.pass(reconcile.PassRequest{})
	for _, e := range res.Events {
		if e.Unit.Name == "app" && e.State == reconcile.StateReady {
			t.Fatalf("app reported ready at %s while its v2 objects were never applied", e.Revision)
		}
	}
	f.commit("lift", map[string]string{"steward.yaml": stack})
	if got := f.states(f.pass(reconcile.PassRequest{})); got != "app=ready base=ready" || f.read("edge", "etc/app.conf") != "v2" {
		t.Fatalf("after the window is lifted: %s, file %q", got, f.read("edge", "etc/app.conf"))
	}
}

// TestReconcilerSourceUnreachable: while the repository cannot be reached,
// the observer hears why, the last good revision stays applied (and drift
// is still corrected), and the next successful poll goes on.
func TestReconcilerSourceUnreachable(t *testing.T) {
	f := newFixture(t, map[string]string{
		"steward.yaml": stack,
		"app/f.yaml":   file("conf", "/etc/app.conf", "v1"),
		"base/f.yaml":  file("motd", "/etc/motd", "m"),
	})
	good := f.pass(reconcile.PassRequest{}).Revision
	moved := f.repo + ".away"
	if err := os.Rename(f.repo, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.root, "edge", "etc", "app.conf"), []byte("hand edit"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Hour)
	res := f.pass(reconcile.PassRequest{})
	last := f.rec.source[len(f.rec.source)-1]
	if last.Err == nil || !strings.Contains(last.Err.Error(), "repository") {
		t.Fatalf("source error not reported: %v", last.Err)
	}
	if res.Revision != good || f.read("edge", "etc/app.conf") != "v1" {
		t.Fatalf("with the source down: revision %s (want %s), file %q (drift not corrected from the last good revision)", res.Revision, good, f.read("edge", "etc/app.conf"))
	}
	if err := os.Rename(moved, f.repo); err != nil {
		t.Fatal(err)
	}
	f.commit("v2", map[string]string{"app/f.yaml": file("conf", "/etc/app.conf", "v2")})
	if res := f.pass(reconcile.PassRequest{}); res.Revision == good || f.read("edge", "etc/app.conf") != "v2" {
		t.Fatalf("after the source came back: revision %s, file %q", res.Revision, f.read("edge", "etc/app.conf"))
	}
}
