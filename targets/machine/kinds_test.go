package machine_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

const h1 = "h1"

func fileObj(t *testing.T, name, path, content, mode string) *reconcile.Object {
	y := hdr + "kind: File\nmetadata: {name: " + name + "}\nspec:\n  path: " + path + "\n  content: " + quote(content)
	if mode != "" {
		y += "\n  mode: \"" + mode + "\""
	}
	return obj(t, y)
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func perm(t *testing.T, p string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestFile(t *testing.T) {
	r := newRig(t)
	steps := []struct {
		name    string
		objs    []*reconcile.Object
		want    []string
		check   func()
		prepare func()
	}{
		{name: "create", objs: []*reconcile.Object{fileObj(t, "motd", "/etc/motd", "hello\n", "0640")},
			want: []string{"h1 machine.steward.dev/File/motd created"},
			check: func() {
				if got := r.file(h1, "etc/motd"); got != "hello\n" {
					t.Fatalf("content %q", got)
				}
				if m := perm(t, filepath.Join(r.root(h1), "etc/motd")); m != 0o640 {
					t.Fatalf("mode %o", m)
				}
			}},
		{name: "no-op", objs: []*reconcile.Object{fileObj(t, "motd", "/etc/motd", "hello\n", "0640")},
			want: []string{"h1 machine.steward.dev/File/motd unchanged"}},
		{name: "update content", objs: []*reconcile.Object{fileObj(t, "motd", "/etc/motd", "hello world\n", "0640")},
			want: []string{"h1 machine.steward.dev/File/motd configured"},
			check: func() {
				if got := r.file(h1, "etc/motd"); got != "hello world\n" {
					t.Fatalf("content %q", got)
				}
			}},
		{name: "update mode only", objs: []*reconcile.Object{fileObj(t, "motd", "/etc/motd", "hello world\n", "0600")},
			want: []string{"h1 machine.steward.dev/File/motd configured"},
			check: func() {
				if m := perm(t, filepath.Join(r.root(h1), "etc/motd")); m != 0o600 {
					t.Fatalf("mode %o", m)
				}
			}},
		{name: "drift corrected", objs: []*reconcile.Object{fileObj(t, "motd", "/etc/motd", "hello world\n", "0600")},
			prepare: func() { r.write(h1, "etc/motd", "edited by hand\n", 0o600) },
			want:    []string{"h1 machine.steward.dev/File/motd configured"},
			check: func() {
				if got := r.file(h1, "etc/motd"); got != "hello world\n" {
					t.Fatalf("content %q", got)
				}
			}},
		{name: "adopt existing", prepare: func() { r.write(h1, "etc/issue", "old issue\n", 0o644) },
			objs: []*reconcile.Object{fileObj(t, "motd", "/etc/motd", "hello world\n", "0600"), fileObj(t, "issue", "/etc/issue", "new issue\n", "")},
			want: []string{"h1 machine.steward.dev/File/issue configured", "h1 machine.steward.dev/File/motd unchanged"}},
		{name: "prune created, keep adopted", objs: nil,
			want: []string{"h1 machine.steward.dev/File/motd deleted", "h1 machine.steward.dev/File/issue unchanged"},
			check: func() {
				if r.exists(h1, "etc/motd") {
					t.Fatal("created file not pruned")
				}
				if got := r.file(h1, "etc/issue"); got != "new issue\n" {
					t.Fatalf("adopted file changed or removed: %q", got)
				}
			}},
		{name: "pruned no-op", objs: nil, want: nil},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.prepare != nil {
				s.prepare()
			}
			cs := r.sync(request("u", "r"+string(rune('1'+i)), true, s.objs...))
			wantActions(t, cs.Changes, s.want...)
			if s.check != nil {
				s.check()
			}
		})
	}
}

func TestFileBinaryAndTemplate(t *testing.T) {
	r := newRig(t, "web1:22")
	objs := []*reconcile.Object{
		obj(t, hdr+"kind: File\nmetadata: {name: bin}\nspec: {path: /srv/logo, contentBase64: \"/wD+\"}"),
		obj(t, hdr+"kind: File\nmetadata: {name: tmpl}\nspec: {path: /etc/hostinfo, template: true, content: \"{{.Host}} {{.Facts.os}} {{.Facts.host}}\\n\"}"),
	}
	cs := r.sync(request("u", "r1", false, objs...))
	// Files apply in path order.
	wantActions(t, cs.Changes, "web1:22 machine.steward.dev/File/tmpl created", "web1:22 machine.steward.dev/File/bin created")
	if got := r.file("web1:22", "srv/logo"); got != "\xff\x00\xfe" {
		t.Fatalf("binary content %q", got)
	}
	if got := r.file("web1:22", "etc/hostinfo"); got != "web1 linux web1\n" {
		t.Fatalf("template rendered %q", got)
	}
	bad := obj(t, hdr+"kind: File\nmetadata: {name: tmpl}\nspec: {path: /etc/hostinfo, template: true, content: \"{{.Facts.nope}}\"}")
	p := r.plan(request("u", "r2", false, bad))
	if c := p.Changes[0]; c.Action != reconcile.Failed || !strings.Contains(c.Message, "File/tmpl: spec.content: template") {
		t.Fatalf("bad template: %+v", c)
	}
}

func TestDirectory(t *testing.T) {
	r := newRig(t)
	dir := func(mode string) *reconcile.Object {
		return obj(t, hdr+"kind: Directory\nmetadata: {name: data}\nspec: {path: /srv/app/data, mode: \""+mode+"\", owner: root, group: \"0\"}")
	}
	cs := r.sync(request("u", "r1", true, dir("0750")))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/Directory/data created")
	if m := perm(t, filepath.Join(r.root(h1), "srv/app/data")); m != 0o750 {
		t.Fatalf("mode %o", m)
	}
	wantActions(t, r.sync(request("u", "r1", true, dir("0750"))).Changes, "h1 machine.steward.dev/Directory/data unchanged")
	cs = r.sync(request("u", "r2", true, dir("0700")))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/Directory/data configured")
	if !strings.Contains(cs.Changes[0].Diff, "mode 0750 -> 0700") {
		t.Fatalf("diff %q", cs.Changes[0].Diff)
	}
	wantActions(t, r.sync(request("u", "r3", true)).Changes, "h1 machine.steward.dev/Directory/data deleted")
	if r.exists(h1, "srv/app/data") || !r.exists(h1, "srv/app") {
		t.Fatal("prune removed the wrong directories")
	}
}

// TestPackage drives dnf and rpm through recording shims, since no dnf
// runs here, and asserts the exact commands. apt is tested on real hosts
// (package ssh, realhost_package_test.go).
func TestPackage(t *testing.T) {
	r := newRig(t)
	pkg := func(spec string) *reconcile.Object {
		return obj(t, hdr+"kind: Package\nmetadata: {name: nginx}\nspec: {"+spec+"}")
	}
	query := "rpm -q --qf %{VERSION}-%{RELEASE} nginx"
	steps := []struct {
		objs  []*reconcile.Object
		want  string
		calls []string
	}{
		{[]*reconcile.Object{pkg("")}, "created", []string{query, "dnf install -y -q nginx"}},
		{[]*reconcile.Object{pkg("")}, "unchanged", []string{query}},
		{[]*reconcile.Object{pkg("version: 1.24-2")}, "configured", []string{query, "dnf install -y -q nginx-1.24-2"}},
		{[]*reconcile.Object{pkg("version: \"1.24\"")}, "unchanged", []string{query}},
		{[]*reconcile.Object{pkg("version: 1.22-1")}, "configured", []string{query, "dnf downgrade -y -q nginx-1.22-1"}},
		{nil, "deleted", []string{query, "dnf remove -y -q nginx"}},
		{[]*reconcile.Object{pkg("state: absent")}, "unchanged", []string{query}},
	}
	for i, s := range steps {
		cs := r.sync(request("u", "r"+string(rune('1'+i)), true, s.objs...))
		if len(cs.Changes) != 1 || string(cs.Changes[0].Action) != s.want {
			t.Fatalf("step %d: changes %+v, want one %s", i, cs.Changes, s.want)
		}
		if got := r.shims.calls(t); !slices.Equal(got, s.calls) {
			t.Fatalf("step %d commands:\n  got  %q\n  want %q", i, got, s.calls)
		}
	}
}

// TestPackageDnfRefreshOnce: a dnf install that fails is retried once after
// `dnf makecache`, at most once per run; the error quotes dnf.
func TestPackageDnfRefreshOnce(t *testing.T) {
	r := newRig(t)
	objs := []*reconcile.Object{
		obj(t, hdr+"kind: Package\nmetadata: {name: a-missing}"),
		obj(t, hdr+"kind: Package\nmetadata: {name: b-fine}"),
	}
	cs := r.sync(request("u", "r1", false, objs...))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/Package/a-missing failed", "h1 machine.steward.dev/Package/b-fine skipped")
	if m := cs.Changes[0].Message; m != "dnf install -y -q a-missing exited 1: Error: Unable to find a match: a-missing" {
		t.Fatalf("message %q", m)
	}
	want := []string{"rpm -q --qf %{VERSION}-%{RELEASE} a-missing", "rpm -q --qf %{VERSION}-%{RELEASE} b-fine",
		"dnf install -y -q a-missing", "dnf makecache -q", "dnf install -y -q a-missing"}
	if got := r.shims.calls(t); !slices.Equal(got, want) {
		t.Fatalf("commands:\n  got  %q\n  want %q", got, want)
	}
}

func TestCommandGuards(t *testing.T) {
	r := newRig(t)
	marker := filepath.Join(r.root(h1), "marker")
	cmd := func(name, guards string) *reconcile.Object {
		return obj(t, hdr+"kind: Command\nmetadata: {name: "+name+"}\nspec: {run: [sh, -c, 'echo "+name+" >> \"$LOG\"'], env: {LOG: "+marker+"}, "+guards+"}")
	}
	conf := func(c string) *reconcile.Object { return fileObj(t, "conf", "/etc/app.conf", c, "") }
	steps := []struct {
		name string
		objs []*reconcile.Object
		ran  string // lines the commands appended to the marker
	}{
		{"first run", []*reconcile.Object{
			conf("a"),
			cmd("creates", "creates: /var/lib/app/.done"),
			cmd("unless-true", "unless: [\"true\"]"),
			cmd("unless-false", "unless: [\"false\"]"),
			cmd("onlyif-true", "onlyIf: [\"true\"]"),
			cmd("onlyif-false", "onlyIf: [\"false\"]"),
			cmd("watcher", "watches: [File/conf]"),
		}, "creates\nonlyif-true\nunless-false\nwatcher\n"},
		{"watched unchanged", []*reconcile.Object{conf("a"), cmd("watcher", "watches: [File/conf]")}, ""},
		{"watched changed", []*reconcile.Object{conf("b"), cmd("watcher", "watches: [File/conf]")}, "watcher\n"},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			_ = os.Remove(marker)
			r.sync(request("u", "r"+string(rune('1'+i)), false, s.objs...))
			got, _ := os.ReadFile(marker)
			if string(got) != s.ran {
				t.Fatalf("ran %q, want %q", got, s.ran)
			}
		})
	}
	r.write(h1, "var/lib/app/.done", "", 0o644)
	p := r.plan(request("u", "r9", false, cmd("creates", "creates: /var/lib/app/.done")))
	if c := p.Changes[0]; c.Action != reconcile.Unchanged || c.Message != "/var/lib/app/.done exists" {
		t.Fatalf("creates under the root not seen: %+v", c)
	}
}

func TestCommandFailure(t *testing.T) {
	r := newRig(t)
	objs := []*reconcile.Object{
		obj(t, hdr+"kind: Command\nmetadata: {name: a-fails}\nspec: {run: [sh, -c, 'echo boom >&2; exit 3'], creates: /x}"),
		obj(t, hdr+"kind: Command\nmetadata: {name: b-after}\nspec: {run: [\"true\"], creates: /y}"),
	}
	cs := r.sync(request("u", "r1", false, objs...))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/Command/a-fails failed", "h1 machine.steward.dev/Command/b-after skipped")
	if m := cs.Changes[0].Message; m != "sh -c echo boom >&2; exit 3 exited 3: boom" {
		t.Fatalf("message %q", m)
	}
	if m := cs.Changes[1].Message; m != "not applied: Command/a-fails failed" {
		t.Fatalf("message %q", m)
	}
}

func TestOwnerMissingOnHost(t *testing.T) {
	r := newRig(t)
	p := r.plan(request("u", "r1", false, obj(t, hdr+"kind: File\nmetadata: {name: f}\nspec: {path: /f, owner: no-such-user-here}")))
	c := p.Changes[0]
	if c.Action != reconcile.Failed || !strings.Contains(c.Message, `File/f: spec.owner: user "no-such-user-here": not found on the host`) {
		t.Fatalf("change %+v", c)
	}
}

// TestPlanFailureIsPerObject: an object that fails to plan reports its own
// error; the host's other objects say they were not applied, not that
// error, and nothing is changed on the host.
func TestPlanFailureIsPerObject(t *testing.T) {
	r := newRig(t)
	objs := []*reconcile.Object{
		fileObj(t, "good", "/etc/good", "g\n", ""),
		obj(t, hdr+"kind: File\nmetadata: {name: owned}\nspec: {path: /etc/owned, content: x, owner: no-such-user-here}"),
		fileObj(t, "same", "/etc/same", "s\n", ""),
	}
	r.write(h1, "etc/same", "s\n", 0o644)
	cs := r.sync(request("u", "r1", false, objs...))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/File/good skipped", "h1 machine.steward.dev/File/owned failed", "h1 machine.steward.dev/File/same unchanged")
	if m := cs.Changes[0].Message; m != "not applied: the plan of another object failed on this host" {
		t.Fatalf("good: %q", m)
	}
	if m := cs.Changes[1].Message; !strings.Contains(m, `File/owned: spec.owner: user "no-such-user-here": not found on the host`) {
		t.Fatalf("owned: %q", m)
	}
	if r.exists(h1, "etc/good") {
		t.Fatal("a host with a failed plan was changed")
	}
}

// TestPruneKeepsNonEmptyDirectory: a created Directory that now holds
// files someone else put there is kept when no longer declared, reported
// once as kept, then forgotten (not failed on every pass).
func TestPruneKeepsNonEmptyDirectory(t *testing.T) {
	r := newRig(t)
	r.sync(request("u", "r1", true, obj(t, hdr+"kind: Directory\nmetadata: {name: d}\nspec: {path: /srv/d}")))
	r.write(h1, "srv/d/user.txt", "mine\n", 0o644)
	cs := r.sync(request("u", "r2", true))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/Directory/d unchanged")
	if m := cs.Changes[0].Message; m != "kept: not empty" {
		t.Fatalf("message %q", m)
	}
	if r.file(h1, "srv/d/user.txt") != "mine\n" {
		t.Fatal("user file lost")
	}
	if cs := r.sync(request("u", "r3", true)); len(cs.Changes) != 0 {
		t.Fatalf("second pass: %+v", cs.Changes)
	}
}
