package reconcile_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/generators/helm"
	"github.com/stewardhq/steward/generators/yaml"
	"github.com/stewardhq/steward/reconcile"
)

// These tests run outputs and inputs through the reconciler over real parts:
// git, the yaml and helm generators, and local machine targets whose facts
// and probes run on this host.

const flowStack = `apiVersion: steward.dev/v1
kind: Stack
targets:
  core: {local: {root: core}}
  edge: {local: {root: edge}}
units:
  - name: db
    path: db
    generator: {yaml: {}}
    target: core
    outputs:
      arch: {fact: arch, example: x86_64}
      port: {value: "5432"}
      version: {probe: [cat, PROBE], timeout: 2s, example: "0"}
      password: {random: {length: 24}, example: example-password}
  - name: app
    path: app
    generator: {helm: {chart: .}}
    target: edge
    dependsOn: [db]
    inputs: {arch: db.arch, version: db.version}
  - name: conf
    path: conf
    generator: {yaml: {}}
    target: edge
    dependsOn: [db]
    inputs: {port: db.port, password: db.password}
`

const flowChart = `apiVersion: v2
name: app
version: 0.1.0
`

const flowTemplate = `apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: app}
spec:
  path: /etc/app.conf
  content: "arch={{ .Values.inputs.arch }} version={{ .Values.inputs.version }}\n"
`

const flowConf = `apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: conf}
spec:
  path: /etc/conf
  template: true
  content: "port={{.Inputs.port}} password={{.Inputs.password}}\n"
`

func flowFiles(probe string) map[string]string {
	return map[string]string{
		"steward.yaml":            strings.Replace(flowStack, "PROBE", probe, 1),
		"db/f.yaml":               file("db", "/etc/db", "db"),
		"app/Chart.yaml":          flowChart,
		"app/templates/file.yaml": flowTemplate,
		"conf/f.yaml":             flowConf,
	}
}

func flowFixture(t *testing.T, probe string, mod func(*reconcile.ReconcilerOptions)) *fixture {
	t.Helper()
	return newFixtureWith(t, flowFiles(probe), func(o *reconcile.ReconcilerOptions) {
		o.Stages.Renderer = reconcile.NewRenderer(withGenerators(func(u *reconcile.Unit) (reconcile.Generator, error) {
			if u.Generator.Helm != nil {
				return helm.New(u.Generator.Helm), nil
			}
			return yaml.New(u.Generator.YAML), nil
		}))
		if mod != nil {
			mod(o)
		}
	})
}

func (f *fixture) event(unit string) *reconcile.UnitEvent {
	f.rec.mu.Lock()
	defer f.rec.mu.Unlock()
	for i := len(f.rec.units) - 1; i >= 0; i-- {
		if f.rec.units[i].Unit.Name == unit {
			e := f.rec.units[i]
			return &e
		}
	}
	return nil
}

func uname(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("uname", "-m").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// A host fact and a probe's stdout flow into a helm value, a literal and a
// random password into a machine File template; the password is generated
// once, kept on the target, and hidden from the File's diff.
func TestOutputsFlowIntoDependents(t *testing.T) {
	probe := filepath.Join(t.TempDir(), "version")
	if err := os.WriteFile(probe, []byte("15.4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := flowFixture(t, probe, nil)
	res := f.pass(reconcile.PassRequest{})
	if got := f.states(res); got != "db=ready app=ready conf=ready" {
		t.Fatalf("states: %s (%v)", got, res.Events)
	}
	if got, want := f.read("edge", "etc/app.conf"), "arch="+uname(t)+" version=15.4\n"; got != want {
		t.Errorf("app.conf = %q, want %q", got, want)
	}
	outs := f.r.Outputs("db")
	pw := outs["password"]
	if len(pw.Value) != 24 || !pw.Sensitive || pw.Shown() != reconcile.MaskSame {
		t.Errorf("password output: sensitive %v, shown %q, %d characters", pw.Sensitive, pw.Shown(), len(pw.Value))
	}
	if shown := f.event("db").Outputs; shown["password"] != reconcile.MaskSame || shown["port"] != "5432" || shown["arch"] != uname(t) {
		t.Errorf("status outputs = %v", shown)
	}
	if got, want := f.read("edge", "etc/conf"), "port=5432 password="+pw.Value+"\n"; got != want {
		t.Errorf("conf = %q, want %q", got, want)
	}
	for _, c := range f.event("conf").ChangeSet.Changes {
		if strings.Contains(c.Diff, pw.Value) {
			t.Errorf("the password reached the diff of %s: %s", c.Object, c.Diff)
		}
	}
	// The outputs live on the target, beside the inventory: a new steward
	// reads the same password back.
	stored, err := os.ReadFile(filepath.Join(f.root, "core", "var/lib/steward/outputs/db.json"))
	if err != nil || !strings.Contains(string(stored), pw.Value) {
		t.Fatalf("outputs on the target: %v", err)
	}
	if info, _ := os.Stat(filepath.Join(f.root, "core", "var/lib/steward/outputs/db.json")); info.Mode().Perm() != 0o600 {
		t.Errorf("outputs file mode %v, want 0600", info.Mode().Perm())
	}
	g := flowFixture(t, probe, nil)
	g.root = f.root // the same hosts, a steward that knows nothing yet
	if res := g.pass(reconcile.PassRequest{Manual: true}); res.Failed() {
		t.Fatalf("second steward: %s", g.states(res))
	}
	if got := g.r.Outputs("db")["password"].Value; got != pw.Value {
		t.Errorf("a second steward generated another password")
	}
}

func flowFixtureOpts(o *reconcile.ReconcilerOptions) {
	o.Stages.Renderer = reconcile.NewRenderer(withGenerators(func(u *reconcile.Unit) (reconcile.Generator, error) {
		if u.Generator.Helm != nil {
			return helm.New(u.Generator.Helm), nil
		}
		return yaml.New(u.Generator.YAML), nil
	}))
}

// An output that changes without a new revision regenerates and re-applies
// its consumers in the same pass, saying why; a flapping one is held back by
// the debounce and applied once it allows.
func TestOutputChangePropagates(t *testing.T) {
	probe := filepath.Join(t.TempDir(), "version")
	if err := os.WriteFile(probe, []byte("15.4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := flowFixture(t, probe, func(o *reconcile.ReconcilerOptions) {
		o.Propagation = reconcile.PropagationOptions{Debounce: time.Minute, MaxReapplies: 2, Window: time.Hour}
	})
	if res := f.pass(reconcile.PassRequest{}); res.Failed() {
		t.Fatalf("first pass: %s", f.states(res))
	}
	if err := os.WriteFile(probe, []byte("16.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := f.pass(reconcile.PassRequest{Units: []string{"db"}, Manual: true})
	if res.Failed() {
		t.Fatalf("db pass: %s", f.states(res))
	}
	ev := f.event("app")
	if ev == nil || ev.State != reconcile.StateReady || ev.Reason != "input db.version changed" {
		t.Fatalf("app event: %+v", ev)
	}
	if got := f.read("edge", "etc/app.conf"); !strings.Contains(got, "version=16.0") {
		t.Errorf("app.conf = %q after the probe changed", got)
	}
	if ev := f.event("conf"); ev != nil && ev.ChangeSet != nil && ev.ChangeSet.HasChanges() {
		t.Errorf("conf, whose inputs did not change, was changed: %+v", ev)
	}
	// It flaps: within the debounce the change is held back.
	if err := os.WriteFile(probe, []byte("16.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(10 * time.Second)
	f.pass(reconcile.PassRequest{Units: []string{"db"}, Manual: true})
	if got := f.read("edge", "etc/app.conf"); !strings.Contains(got, "version=16.0") {
		t.Errorf("app.conf = %q: a change within the debounce was applied", got)
	}
	f.clock.Advance(time.Minute)
	f.pass(reconcile.PassRequest{})
	if got := f.read("edge", "etc/app.conf"); !strings.Contains(got, "version=16.1") {
		t.Errorf("app.conf = %q after the debounce", got)
	}
	// MaxReapplies (2 per hour) is reached: the next change waits.
	if err := os.WriteFile(probe, []byte("16.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(5 * time.Minute)
	f.pass(reconcile.PassRequest{Units: []string{"db"}, Manual: true})
	f.pass(reconcile.PassRequest{})
	if got := f.read("edge", "etc/app.conf"); !strings.Contains(got, "version=16.1") {
		t.Errorf("app.conf = %q: re-applied past the bound", got)
	}
	f.clock.Advance(time.Hour)
	f.pass(reconcile.PassRequest{})
	if got := f.read("edge", "etc/app.conf"); !strings.Contains(got, "version=16.2") {
		t.Errorf("app.conf = %q once the window passed", got)
	}
}

// A probe that fails or hangs fails its unit with the reason; consumers are
// blocked naming the output, and nothing is applied with an empty value.
func TestOutputProbeFailsOrHangs(t *testing.T) {
	for _, tc := range []struct{ name, probe, want string }{
		{"fails", "/nonexistent/version", "probe: cat /nonexistent/version exited 1"},
		{"hangs", "HANG", "did not finish within 2s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := flowFiles(tc.probe)
			if tc.probe == "HANG" {
				files["steward.yaml"] = strings.Replace(files["steward.yaml"], "[cat, HANG]", "[sleep, \"30\"]", 1)
			}
			f := newFixtureWith(t, files, flowFixtureOpts)
			res := f.pass(reconcile.PassRequest{})
			db, app, conf := f.event("db"), f.event("app"), f.event("conf")
			if db == nil || db.State != reconcile.StateFailed || !strings.Contains(db.Err.Error(), tc.want) {
				t.Fatalf("db: %+v (%s)", db, f.states(res))
			}
			if app == nil || app.State != reconcile.StateBlocked || !strings.Contains(app.Reason, "db") {
				t.Errorf("app: %+v", app)
			}
			if conf == nil || conf.State != reconcile.StateBlocked {
				t.Errorf("conf: %+v", conf)
			}
			if got := f.read("edge", "etc/app.conf"); !strings.HasPrefix(got, "<") {
				t.Errorf("app.conf written: %q", got)
			}
		})
	}
}

// Offline (verify, build, diff --base): inputs take the outputs' examples,
// marked as such; an input without an example leaves its unit not
// generated, with the reason, never given an empty string.
func TestGenerateOfflineUsesExamples(t *testing.T) {
	dir := t.TempDir()
	files := flowFiles("/nonexistent")
	files["steward.yaml"] = strings.Replace(files["steward.yaml"], ", example: example-password", "", 1)
	writeFiles(t, dir, files)
	rev := &reconcile.Revision{ID: "work", Tree: os.DirFS(dir), Dir: dir}
	st := reconcile.Stages{Renderer: reconcile.NewRenderer(withGenerators(func(u *reconcile.Unit) (reconcile.Generator, error) {
		if u.Generator.Helm != nil {
			return helm.New(u.Generator.Helm), nil
		}
		return yaml.New(u.Generator.YAML), nil
	}))}
	g, err := reconcile.Generate(t.Context(), rev, nil, st)
	if err != nil {
		t.Fatal(err)
	}
	var ie *reconcile.InputError
	if len(g.Problems) != 1 || !errors.As(g.Problems[0], &ie) || ie.Unit != "conf" || ie.Input != "password" {
		t.Fatalf("problems: %v", g.Problems)
	}
	if want := "unit conf: not generated: input password: output db.password has no example: value and no live value was read"; g.Problems[0].Error() != want {
		t.Errorf("problem = %q, want %q", g.Problems[0], want)
	}
	var app *reconcile.Rendered
	for i := range g.Units {
		if g.Units[i].Unit.Name == "app" {
			app = &g.Units[i]
		}
	}
	if app == nil || app.Err != nil || len(app.Objects) != 1 {
		t.Fatalf("app: %+v", app)
	}
	content, _, _ := unstructuredString(app.Objects[0].Object, "spec", "content")
	if content != "arch=x86_64 version=0\n" {
		t.Errorf("app content = %q, want the examples", content)
	}
	if got := strings.Join(g.Examples, "\n"); got != "unit app: input arch = db.arch (example)\nunit app: input version = db.version (example)" {
		t.Errorf("examples marked: %q", got)
	}
}

// A sensitive input (a random password) that a generator writes into an
// object no printer masks is refused, naming input and object; in a File
// marked sensitive it is accepted, and masked.
func TestSecretInputInAShownField(t *testing.T) {
	for _, tc := range []struct {
		name, sensitive, want string
	}{
		{"shown", "", "unit app: input password is sensitive and machine.steward.dev/File/app holds its value where it would be shown"},
		{"sensitive file", "\n  sensitive: true", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			files := flowFiles("/nonexistent")
			files["steward.yaml"] = strings.Replace(files["steward.yaml"], "inputs: {arch: db.arch, version: db.version}", "inputs: {arch: db.arch, version: db.version, password: db.password}", 1)
			files["app/templates/file.yaml"] = strings.Replace(flowTemplate, `version={{ .Values.inputs.version }}`, `password={{ .Values.inputs.password }}`, 1) + tc.sensitive + "\n"
			writeFiles(t, dir, files)
			rev := &reconcile.Revision{ID: "work", Tree: os.DirFS(dir), Dir: dir}
			st := reconcile.Stages{Renderer: reconcile.NewRenderer(withGenerators(func(u *reconcile.Unit) (reconcile.Generator, error) {
				if u.Generator.Helm != nil {
					return helm.New(u.Generator.Helm), nil
				}
				return yaml.New(u.Generator.YAML), nil
			}))}
			g, err := reconcile.Generate(t.Context(), rev, []string{"db", "app"}, st)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(g.Problems) != 0 {
					t.Fatalf("problems: %v", g.Problems)
				}
				obj := g.Units[1].Objects[0]
				_, masked := reconcile.MaskPair(nil, obj)
				if strings.Contains(fmt.Sprint(masked.Object), "example-password") {
					t.Errorf("a sensitive File shows the password: %v", masked.Object)
				}
				return
			}
			var se *reconcile.SecretInputError
			if len(g.Problems) != 1 || !errors.As(g.Problems[0], &se) || !strings.Contains(g.Problems[0].Error(), tc.want) {
				t.Fatalf("problems: %v", g.Problems)
			}
			if strings.Contains(g.Problems[0].Error(), "example-password") {
				t.Errorf("the error shows the password")
			}
		})
	}
}

// withGenerators is the default render options with gens as generators.
func withGenerators(gens func(*reconcile.Unit) (reconcile.Generator, error)) reconcile.RenderOptions {
	o := reconcile.DefaultRenderOptions()
	o.Generators = gens
	return o
}
