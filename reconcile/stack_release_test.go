package reconcile

import (
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestStackReleaseValidation: every bad targets:/progressive: is an error
// naming the stack file, line and field.
func TestStackReleaseValidation(t *testing.T) {
	header := "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n" +
		"  k: {kubernetes: {}}\n  k2: {kubernetes: {}}\n  m: {machines: {hosts: [a:22]}}\n  l: {local: {root: out}}\n" +
		"units:\n  - name: app\n    path: a\n    generator: {yaml: {}}\n"
	tests := []stackCase{
		{"unknown target", header + "    targets: [l, nowhere]\n    progressive: {soak: 1m}\n",
			[]string{`steward.yaml:12:18: units[0].targets[1]: names no target "nowhere" (targets: k, k2, l, m)`}},
		{"duplicate target", header + "    targets: [l, m, l]\n    progressive: {soak: 1m}\n",
			[]string{`steward.yaml:12:21: units[0].targets[2]: duplicate target "l" (first at targets[0])`}},
		{"soak not a duration", header + "    targets: [l, m]\n    progressive: {soak: soon}\n",
			[]string{`steward.yaml:13:25: units[0].progressive.soak: invalid duration "soon"`}},
		{"negative soak", header + "    targets: [l, m]\n    progressive: {soak: -1m}\n",
			[]string{`steward.yaml:13:25: units[0].progressive.soak: duration "-1m" is negative`}},
		{"single target", header + "    targets: [l]\n    progressive: {soak: 1m}\n",
			[]string{`steward.yaml:12:14: units[0].targets: a progressive release needs two or more targets, found 1 (use target: l)`}},
		{"progressive without targets", header + "    target: l\n    progressive: {soak: 1m}\n",
			[]string{`steward.yaml:13:18: units[0].progressive: progressive needs targets`}},
		{"targets without progressive", header + "    targets: [l, m]\n",
			[]string{`steward.yaml:12:14: units[0].targets: targets needs progressive`}},
		{"target and targets", header + "    target: l\n    targets: [l, m]\n    progressive: {}\n",
			[]string{`steward.yaml:12:13: units[0].target: set target or targets, not both`}},
		{"maxFailures every wave", header + "    targets: [l, m]\n    progressive: {maxFailures: 2}\n",
			[]string{`steward.yaml:13:32: units[0].progressive.maxFailures: maxFailures 2 tolerates every one of the 2 waves failing`}},
		{"maxFailures negative", header + "    targets: [l, m]\n    progressive: {maxFailures: -1}\n",
			[]string{`units[0].progressive.maxFailures: maxFailures -1 is negative`}},
		{"unknown progressive field", header + "    targets: [l, m]\n    progressive: {soak: 1m, batch: 2}\n",
			[]string{`steward.yaml:13:29: units[0].progressive.batch: unknown field`}},
		{"health with no machine wave", header + "    targets: [k, k2]\n    progressive: {}\n    health: {command: {run: [true]}}\n",
			[]string{`steward.yaml:14:13: units[0].health: health applies to machine and local targets only; no wave of app is one (use wait)`}},
		{"wait with no kubernetes wave", header + "    targets: [l, m]\n    progressive: {}\n    wait: {timeout: 1m}\n",
			[]string{`steward.yaml:14:11: units[0].wait: wait applies to kubernetes targets only; no wave of app is one`}},
		{"outputs", header + "    targets: [l, m]\n    progressive: {}\n    outputs: {a: {value: x}}\n",
			[]string{`steward.yaml:14:14: units[0].outputs: a progressive unit records no outputs`}},
		{"wave name too long", strings.Replace(header, "name: app", "name: "+strings.Repeat("a", 62), 1) + "    targets: [l, m]\n    progressive: {}\n",
			[]string{`steward.yaml:12:15: units[0].targets[0]: the wave's unit "` + strings.Repeat("a", 62) + `.l" is longer than 63 characters`}},
		{"mixed kinds", header + "    targets: [l, m, k]\n    progressive: {soak: 10m, maxFailures: 1}\n    health: {command: {run: [true]}}\n    wait: {timeout: 1m}\n", nil},
	}
	checkStackCases(t, tests)
}

// TestStackReleaseExpands: a progressive unit becomes one unit per wave,
// with the fields that fit its target's kind; what names the unit names
// every wave.
func TestStackReleaseExpands(t *testing.T) {
	s, err := ParseStack([]byte(`apiVersion: steward.dev/v1
kind: Stack
targets:
  k: {kubernetes: {namespace: shop}}
  l: {local: {root: out}}
units:
  - name: db
    path: db
    generator: {yaml: {}}
    target: l
  - name: app
    path: a
    generator: {yaml: {}}
    targets: [l, k]
    progressive: {soak: 10m}
    dependsOn: [db]
    health: {command: {run: [true]}}
    wait: {timeout: 1m}
    updater: {run: [./bump.sh]}
  - name: web
    path: w
    generator: {yaml: {}}
    target: l
    dependsOn: [app]
windows:
  - {kind: deny, schedule: "0 0 * * *", duration: 1h, units: [app]}
  - {kind: deny, schedule: "0 1 * * *", duration: 1h, units: [app.k]}
checks:
  - {name: c, match: {units: [app]}, cel: "true"}
`), "steward.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range s.Units {
		names = append(names, u.Name)
	}
	if got := strings.Join(names, " "); got != "db app.l app.k web" {
		t.Fatalf("units: %s", got)
	}
	l, k := s.Unit("app.l"), s.Unit("app.k")
	if l.Target != "l" || l.Health == nil || l.Wait != nil || l.orderAfter() != "" || l.Updater == nil {
		t.Errorf("wave l: %+v", l)
	}
	if k.Target != "k" || k.Health != nil || k.Wait == nil || k.orderAfter() != "app.l" || k.EffectiveNamespace() != "shop" || k.Updater != nil {
		t.Errorf("wave k: %+v", k)
	}
	if rel, i, n, ok := k.Wave(); rel != "app" || i != 1 || n != 2 || !ok {
		t.Errorf("wave of k: %s %d %d %v", rel, i, n, ok)
	}
	if got := s.Unit("web").DependsOn; !slices.Equal(got, []string{"app.l", "app.k"}) {
		t.Errorf("web depends on %v", got)
	}
	if got := s.Windows[0].Units; !slices.Equal(got, []string{"app.l", "app.k"}) {
		t.Errorf("window units %v", got)
	}
	if got := s.Windows[1].Units; !slices.Equal(got, []string{"app.k"}) {
		t.Errorf("window of one wave: %v", got)
	}
	if got := s.Checks[0].Match.Units; !slices.Equal(got, []string{"app.l", "app.k"}) {
		t.Errorf("check units %v", got)
	}
	sel, err := s.Select([]string{"app"})
	if err != nil || len(sel) != 2 {
		t.Fatalf("select app: %v %v", sel, err)
	}
	if got := s.Releases(); !slices.Equal(got, []string{"app"}) {
		t.Errorf("releases %v", got)
	}
}

// TestStackReleaseCheckPathsNamesTheEntry: a path error after a progressive
// unit names the line of the entry in the file, once.
func TestStackReleaseCheckPathsNamesTheEntry(t *testing.T) {
	s, err := ParseStack([]byte(`apiVersion: steward.dev/v1
kind: Stack
targets:
  a: {local: {root: a}}
  b: {local: {root: b}}
units:
  - {name: app, path: out, generator: {yaml: {}}, targets: [a, b], progressive: {}}
  - {name: web, path: web, generator: {yaml: {}}, target: a}
`), "steward.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tree := fstest.MapFS{
		"out": &fstest.MapFile{Data: []byte("/etc"), Mode: fs.ModeSymlink},
		"web": &fstest.MapFile{Data: []byte("/etc"), Mode: fs.ModeSymlink},
	}
	err = s.CheckPaths(tree)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if !strings.Contains(msg, "steward.yaml:7:") || !strings.Contains(msg, "units[0].path") ||
		!strings.Contains(msg, "steward.yaml:8:") || !strings.Contains(msg, "units[1].path") || strings.Count(msg, "units[0].path") != 1 {
		t.Fatalf("errors:\n%s", msg)
	}
}
