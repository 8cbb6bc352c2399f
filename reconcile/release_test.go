package reconcile_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/generators/yaml"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/sources/git"
	"github.com/stewardhq/steward/targets/machine/local"
)

// These tests release one unit over three local targets (real machine
// targets writing under temp roots, a real git source); the clock is the
// test's own, and every soak is measured from the times the waves' marks
// record on the targets.

// releaseStack is a progressive unit over three local targets whose health
// check fails while the file named by flag exists.
func releaseStack(flag string) string {
	return `apiVersion: steward.dev/v1
kind: Stack
name: shop
targets:
  staging: {local: {root: staging}}
  eu: {local: {root: eu}}
  us: {local: {root: us}}
units:
  - name: app
    path: app
    generator: {yaml: {}}
    targets: [staging, eu, us]
    progressive: {soak: 2s}
    health: {command: {run: [test, "!", -e, "` + flag + `"]}, retries: 1}
`
}

type releaseFixture struct {
	*fixture
	flag string
}

func newReleaseFixture(t *testing.T) *releaseFixture {
	flag := filepath.Join(t.TempDir(), "unhealthy")
	f := newFixture(t, map[string]string{
		"steward.yaml": releaseStack(flag),
		"app/f.yaml":   file("conf", "/etc/app.conf", "v1"),
	})
	return &releaseFixture{fixture: f, flag: flag}
}

// versions returns what each wave's target holds, "staging=v1 eu=v1 us=-".
func (f *releaseFixture) versions() string {
	var out []string
	for _, t := range []string{"staging", "eu", "us"} {
		v := f.read(t, "etc/app.conf")
		if strings.HasPrefix(v, "<") {
			v = "-"
		}
		out = append(out, t+"="+v)
	}
	return strings.Join(out, " ")
}

func (f *releaseFixture) want(versions string) {
	f.t.Helper()
	if got := f.versions(); got != versions {
		f.t.Fatalf("targets hold %s, want %s", got, versions)
	}
}

func (f *releaseFixture) bump(v string) {
	f.commit(v, map[string]string{"app/f.yaml": file("conf", "/etc/app.conf", v)})
}

func (f *releaseFixture) unhealthy(on bool) {
	f.t.Helper()
	if !on {
		if err := os.Remove(f.flag); err != nil {
			f.t.Fatal(err)
		}
		return
	}
	if err := os.WriteFile(f.flag, nil, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *releaseFixture) status() reconcile.ReleaseStatus {
	f.t.Helper()
	st, err := f.r.ReleaseStatus(context.Background(), "app")
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

// event returns the last event of unit in res.
func event(res *reconcile.PassResult, unit string) *reconcile.UnitEvent {
	for i := range res.Events {
		if res.Events[i].Unit.Name == unit {
			return &res.Events[i]
		}
	}
	return nil
}

// rollOut releases the current revision through all three waves.
// newFrozenRelease is a fixture whose release of v2 is frozen: staging
// took it, eu failed its health check and was rolled back, and the check
// passes again.
func newFrozenRelease(t *testing.T) *releaseFixture {
	f := newReleaseFixture(t)
	f.rollOut()
	f.bump("v2")
	f.pass(reconcile.PassRequest{})
	f.unhealthy(true)
	f.clock.Advance(2 * time.Second)
	f.pass(reconcile.PassRequest{})
	f.unhealthy(false)
	return f
}

func (f *releaseFixture) rollOut() {
	f.t.Helper()
	for range 3 {
		f.pass(reconcile.PassRequest{})
		f.clock.Advance(2 * time.Second)
	}
	f.pass(reconcile.PassRequest{})
	if st := f.status(); st.Wave != 0 {
		f.t.Fatalf("release not complete: %s", st)
	}
}

func TestReleaseWavesWaitForSoak(t *testing.T) {
	f := newReleaseFixture(t)
	res := f.pass(reconcile.PassRequest{})
	f.want("staging=v1 eu=- us=-")
	if got := f.states(res); got != "app.staging=ready app.eu=blocked app.us=blocked" {
		t.Fatalf("states: %s", got)
	}
	ev := event(res, "app.eu")
	wantUntil := f.clock.Now().Add(2 * time.Second)
	if !strings.Contains(ev.Reason, "waiting for wave 1 of 3 (target staging) to soak until "+wantUntil.Format(time.RFC3339)) {
		t.Fatalf("eu reason: %s", ev.Reason)
	}
	if !ev.NextRun.Equal(wantUntil) {
		t.Fatalf("eu next run %s, want the soak's end %s", ev.NextRun, wantUntil)
	}
	if got := event(res, "app.staging").Release; got != "wave 1 of 3, soaking until "+wantUntil.Format(time.RFC3339) {
		t.Fatalf("release line: %q", got)
	}

	f.clock.Advance(time.Second) // still soaking: nothing moves
	f.pass(reconcile.PassRequest{})
	f.want("staging=v1 eu=- us=-")

	f.clock.Advance(time.Second)
	f.pass(reconcile.PassRequest{})
	f.want("staging=v1 eu=v1 us=-")
	f.clock.Advance(2 * time.Second)
	f.pass(reconcile.PassRequest{})
	f.want("staging=v1 eu=v1 us=v1")
	f.clock.Advance(2 * time.Second)
	if st := f.status(); st.String() != "complete: 3 waves at revision "+reconcile.ShortRevision(st.Revision, reconcile.RevisionWidth) {
		t.Fatalf("status: %s", st)
	}

	// A new revision starts at the first wave again.
	f.bump("v2")
	f.pass(reconcile.PassRequest{})
	f.want("staging=v2 eu=v1 us=v1")
	f.clock.Advance(2 * time.Second)
	f.pass(reconcile.PassRequest{})
	f.want("staging=v2 eu=v2 us=v1")
}

func TestReleaseFreezesOnFailedHealthCheck(t *testing.T) {
	f := newReleaseFixture(t)
	f.rollOut()
	f.bump("v2")
	f.pass(reconcile.PassRequest{})
	f.want("staging=v2 eu=v1 us=v1")

	f.unhealthy(true) // wave 2 fails its health check mid-release
	f.clock.Advance(2 * time.Second)
	res := f.pass(reconcile.PassRequest{})
	f.want("staging=v2 eu=v1 us=v1") // eu rolled back by its health gate
	if got := f.states(res); !strings.Contains(got, "app.eu=failed") {
		t.Fatalf("states: %s", got)
	}
	st := f.status()
	if st.Wave != 2 || st.Frozen == "" || !strings.HasPrefix(st.String(), "wave 2 of 3, frozen: target eu failed revision ") {
		t.Fatalf("status: %s", st)
	}
	if ev := event(res, "app.eu"); ev.Release != st.String() {
		t.Fatalf("event release line %q, want %q", ev.Release, st.String())
	}

	// Frozen: later waves keep the previous revision however long it
	// stays so, and the failed wave is not retried on its own.
	f.unhealthy(false)
	for range 3 {
		f.clock.Advance(10 * time.Minute)
		res = f.pass(reconcile.PassRequest{})
	}
	f.want("staging=v2 eu=v1 us=v1")
	if ev := event(res, "app.us"); ev == nil || !strings.Contains(ev.Reason, "release frozen at wave 2 of 3") ||
		!strings.Contains(ev.Reason, "steward release resume|abort app") {
		t.Fatalf("us event: %+v", ev)
	}

	// Resumed, the failed wave is applied again, and the release goes on.
	if err := f.r.ResumeRelease(context.Background(), "app"); err != nil {
		t.Fatal(err)
	}
	f.pass(reconcile.PassRequest{})
	f.want("staging=v2 eu=v2 us=v1")
	f.clock.Advance(2 * time.Second)
	f.pass(reconcile.PassRequest{})
	f.want("staging=v2 eu=v2 us=v2")
	if err := f.r.ResumeRelease(context.Background(), "app"); !errors.Is(err, reconcile.ErrReleaseState) {
		t.Fatalf("resuming a release that is not frozen: %v", err)
	}
}

func TestReleaseNewRevisionWaitsBehindFrozenRelease(t *testing.T) {
	f := newFrozenRelease(t)
	f.want("staging=v2 eu=v1 us=v1")

	f.bump("v3") // arrives while v2's release is frozen
	res := f.pass(reconcile.PassRequest{})
	f.clock.Advance(time.Minute)
	res2 := f.pass(reconcile.PassRequest{})
	f.want("staging=v2 eu=v1 us=v1")
	for _, r := range []*reconcile.PassResult{res, res2} {
		if ev := event(r, "app.staging"); ev != nil && !strings.Contains(ev.Reason, "release frozen at wave 2 of 3") {
			t.Fatalf("staging took the new revision past a frozen release: %+v", ev)
		}
	}
	if ev := event(res, "app.staging"); ev == nil || ev.State != reconcile.StateBlocked {
		t.Fatalf("staging event at the new revision: %+v", ev)
	}

	// Resumed, the newest revision is the one released, from wave 1.
	if err := f.r.ResumeRelease(context.Background(), "app"); err != nil {
		t.Fatal(err)
	}
	f.pass(reconcile.PassRequest{})
	f.want("staging=v3 eu=v1 us=v1")
	f.clock.Advance(2 * time.Second)
	f.pass(reconcile.PassRequest{})
	f.want("staging=v3 eu=v3 us=v1")
}

func TestReleaseAbortRollsBackAppliedWaves(t *testing.T) {
	f := newFrozenRelease(t)
	f.want("staging=v2 eu=v1 us=v1")

	if err := f.r.AbortRelease(context.Background(), "app"); err != nil {
		t.Fatal(err)
	}
	f.want("staging=v1 eu=v1 us=v1")
	st := f.status()
	if st.Aborted == "" || st.RolledBackTo == "" || st.Aborted == st.RolledBackTo || !strings.Contains(st.String(), "aborted: revision ") {
		t.Fatalf("status after abort: %s", st)
	}
	// The aborted revision is not applied again.
	for range 2 {
		f.clock.Advance(10 * time.Minute)
		res := f.pass(reconcile.PassRequest{})
		if ev := event(res, "app.staging"); ev != nil && ev.State != reconcile.StateBlocked {
			t.Fatalf("staging after abort: %+v", ev)
		}
	}
	f.want("staging=v1 eu=v1 us=v1")
	if err := f.r.AbortRelease(context.Background(), "app"); !errors.Is(err, reconcile.ErrReleaseState) {
		t.Fatalf("aborting twice: %v", err)
	}

	// A new revision is released afresh.
	f.bump("v3")
	f.pass(reconcile.PassRequest{})
	f.want("staging=v3 eu=v1 us=v1")
}

func TestReleaseAbortWithNewRevisionWaiting(t *testing.T) {
	f := newFrozenRelease(t)
	f.bump("v3")
	f.pass(reconcile.PassRequest{})
	f.want("staging=v2 eu=v1 us=v1")

	if err := f.r.AbortRelease(context.Background(), "app"); err != nil {
		t.Fatal(err)
	}
	f.want("staging=v1 eu=v1 us=v1")
	f.pass(reconcile.PassRequest{}) // v3, waiting behind v2's release, goes
	f.want("staging=v3 eu=v1 us=v1")
}

func TestReleaseSoakSurvivesRestart(t *testing.T) {
	f := newReleaseFixture(t)
	f.rollOut()
	f.bump("v2")
	f.pass(reconcile.PassRequest{})
	soakEnd := f.clock.Now().Add(2 * time.Second)
	f.clock.Advance(time.Second)

	// steward restarts mid-soak: a new reconciler, a new source cache,
	// nothing of the old process's memory.
	f.restart()
	res := f.pass(reconcile.PassRequest{})
	f.want("staging=v2 eu=v1 us=v1")
	ev := event(res, "app.eu")
	if ev == nil || !strings.Contains(ev.Reason, "soak until "+soakEnd.Format(time.RFC3339)) {
		t.Fatalf("eu after the restart: %+v (soak ends %s)", ev, soakEnd)
	}
	f.clock.Advance(time.Second)
	f.pass(reconcile.PassRequest{})
	f.want("staging=v2 eu=v2 us=v1")
}

func TestReleaseFrozenSurvivesRestart(t *testing.T) {
	f := newFrozenRelease(t)

	f.restart()
	f.clock.Advance(time.Hour)
	f.pass(reconcile.PassRequest{})
	f.want("staging=v2 eu=v1 us=v1")
	if st := f.status(); !strings.HasPrefix(st.String(), "wave 2 of 3, frozen: ") {
		t.Fatalf("status after restart: %s", st)
	}
}

// restart replaces the fixture's reconciler by a new one over the same
// repository and targets.
func (f *releaseFixture) restart() {
	f.t.Helper()
	if err := f.r.Close(); err != nil {
		f.t.Fatal(err)
	}
	opts := git.DefaultSourceOptions()
	opts.URL = "file://" + f.repo
	opts.CacheDir = f.t.TempDir()
	src, err := git.NewSource(opts)
	if err != nil {
		f.t.Fatal(err)
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
	f.r = reconcile.NewReconciler(ropts)
}

// TestReleaseWindowPerWave: a deny window on one wave holds that wave, and
// the release waits behind it; the waves before it go on.
func TestReleaseWindowPerWave(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "unhealthy")
	f := &releaseFixture{fixture: newFixture(t, map[string]string{
		"steward.yaml": releaseStack(flag) + "windows:\n  - {kind: deny, schedule: \"0 11 * * *\", duration: 2h, units: [app.eu]}\n",
		"app/f.yaml":   file("conf", "/etc/app.conf", "v1"),
	}), flag: flag}
	var eu, us *reconcile.UnitEvent // the last of each
	for range 3 {
		res := f.pass(reconcile.PassRequest{})
		if ev := event(res, "app.eu"); ev != nil {
			eu = ev
		}
		if ev := event(res, "app.us"); ev != nil {
			us = ev
		}
		f.clock.Advance(2 * time.Second)
	}
	f.want("staging=v1 eu=- us=-")
	if eu == nil || eu.State != reconcile.StateBlocked || !strings.Contains(eu.Reason, "deny window") {
		t.Fatalf("eu: %+v", eu)
	}
	if us == nil || !strings.Contains(us.Reason, "waiting for wave 2 of 3 (target eu)") {
		t.Fatalf("us: %+v", us)
	}
	// Once the window closes, the release goes on.
	f.clock.Advance(3 * time.Hour)
	f.rollOut()
	f.want("staging=v1 eu=v1 us=v1")
}

// TestReleaseWaveOutputMustFitItsKind: a wave whose objects do not fit its
// target's kind refuses the revision, naming the wave.
func TestReleaseWaveOutputMustFitItsKind(t *testing.T) {
	f := newFixture(t, map[string]string{
		"steward.yaml": `apiVersion: steward.dev/v1
kind: Stack
targets:
  here: {local: {root: here}}
  cluster: {kubernetes: {}}
units:
  - {name: app, path: app, generator: {yaml: {}}, targets: [here, cluster], progressive: {soak: 1m}}
`,
		"app/f.yaml": file("conf", "/etc/app.conf", "v1"),
	})
	res, err := f.r.Pass(context.Background(), reconcile.PassRequest{})
	if !errors.Is(err, reconcile.ErrNoRevision) || res.Refused == nil {
		t.Fatalf("pass: %v, refused %v", err, res.Refused)
	}
	want := "unit app.cluster: wave 2 of app: target cluster is kubernetes, but the generator renders machine.steward.dev/File/conf for it"
	if !strings.Contains(res.Refused.Error(), want) {
		t.Fatalf("refused with\n%v\nwant\n%s", res.Refused, want)
	}
	if got := f.read("here", "etc/app.conf"); !strings.HasPrefix(got, "<") {
		t.Fatalf("the first wave holds %q: a refused revision was applied", got)
	}
}

// TestReleaseSuspendByName: suspending the progressive unit by its name
// suspends every wave, and resuming it lets the release go on.
func TestReleaseSuspendByName(t *testing.T) {
	f := newReleaseFixture(t)
	f.rollOut()
	if err := f.r.Suspend(context.Background(), "app"); err != nil {
		t.Fatal(err)
	}
	f.bump("v2")
	res := f.pass(reconcile.PassRequest{})
	if got := f.states(res); got != "app.staging=suspended app.eu=suspended app.us=suspended" {
		t.Fatalf("states: %s", got)
	}
	f.want("staging=v1 eu=v1 us=v1")
	if err := f.r.Resume(context.Background(), "app"); err != nil {
		t.Fatal(err)
	}
	f.pass(reconcile.PassRequest{})
	f.want("staging=v2 eu=v1 us=v1")
}
