package machine

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

func unitObj(t *testing.T, extra string) *reconcile.Object {
	return obj(t, hdr+"kind: Unit\nmetadata: {name: web}\nspec:\n  content: \"[Service]\\nExecStart=/bin/web\\n\"\n  enabled: true\n  state: running\n"+extra)
}

// TestUnit drives systemctl through the recording shim (systemd does not
// run here) and asserts the exact command sequence.
func TestUnit(t *testing.T) {
	r := newRig(t)
	conf := func(c string) *reconcile.Object { return fileObj(t, "conf", "/etc/web.conf", c, "") }
	watch := "  watches: [File/conf]\n"
	steps := []struct {
		name  string
		objs  []*reconcile.Object
		want  []string // changes
		calls []string // systemctl calls, plan then apply
	}{
		{"create", []*reconcile.Object{conf("a"), unitObj(t, watch)},
			[]string{"h1 machine.steward.dev/File/conf created", "h1 machine.steward.dev/Unit/web created"},
			[]string{"systemctl is-enabled web.service", "systemctl is-active web.service",
				"systemctl daemon-reload", "systemctl enable web.service", "systemctl start web.service"}},
		{"no-op", []*reconcile.Object{conf("a"), unitObj(t, watch)},
			[]string{"h1 machine.steward.dev/File/conf unchanged", "h1 machine.steward.dev/Unit/web unchanged"},
			[]string{"systemctl is-enabled web.service", "systemctl is-active web.service"}},
		{"watched file changed", []*reconcile.Object{conf("b"), unitObj(t, watch)},
			[]string{"h1 machine.steward.dev/File/conf configured", "h1 machine.steward.dev/Unit/web configured"},
			[]string{"systemctl is-enabled web.service", "systemctl is-active web.service", "systemctl restart web.service"}},
		{"unit file changed", []*reconcile.Object{conf("b"), unitObj(t, watch+"  name: web.service\n")},
			[]string{"h1 machine.steward.dev/File/conf unchanged", "h1 machine.steward.dev/Unit/web unchanged"},
			[]string{"systemctl is-enabled web.service", "systemctl is-active web.service"}},
		{"stop and disable", []*reconcile.Object{obj(t, hdr+"kind: Unit\nmetadata: {name: web}\nspec: {enabled: false, state: stopped}")},
			[]string{"h1 machine.steward.dev/Unit/web configured", "h1 machine.steward.dev/File/conf deleted"},
			[]string{"systemctl is-enabled web.service", "systemctl is-active web.service",
				"systemctl disable web.service", "systemctl stop web.service"}},
		{"prune unit", nil,
			[]string{"h1 machine.steward.dev/Unit/web deleted"},
			[]string{"systemctl disable --now web.service", "systemctl daemon-reload"}},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			cs := r.sync(request("u", "r"+string(rune('1'+i)), true, s.objs...))
			wantActions(t, cs.Changes, s.want...)
			if got := r.shims.calls(t, false); !slices.Equal(got, s.calls) {
				t.Fatalf("commands:\n  got  %q\n  want %q", got, s.calls)
			}
		})
	}
	if r.exists(h1, "etc/systemd/system/web.service") {
		t.Fatal("unit file not pruned")
	}
}

func TestUnitContentChangeRestarts(t *testing.T) {
	r := newRig(t)
	r.sync(request("u", "r1", false, unitObj(t, "")))
	r.shims.calls(t, false)
	changed := obj(t, hdr+"kind: Unit\nmetadata: {name: web}\nspec:\n  content: \"[Service]\\nExecStart=/bin/web --v2\\n\"\n  enabled: true\n  state: running\n")
	cs := r.sync(request("u", "r2", false, changed))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/Unit/web configured")
	want := []string{"systemctl is-enabled web.service", "systemctl is-active web.service", "systemctl daemon-reload", "systemctl restart web.service"}
	if got := r.shims.calls(t, false); !slices.Equal(got, want) {
		t.Fatalf("commands:\n  got  %q\n  want %q", got, want)
	}
	if !strings.Contains(cs.Changes[0].Diff, "+ExecStart=/bin/web --v2") || !strings.Contains(cs.Changes[0].Diff, "restart web.service (unit file changed)") {
		t.Fatalf("diff:\n%s", cs.Changes[0].Diff)
	}
}

// TestPackage drives apt-get/dpkg-query and dnf/rpm through recording shims
// (no package manager runs here) and asserts the exact commands.
func TestPackage(t *testing.T) {
	for _, pm := range []struct {
		name            string
		query, install  string
		upgrade, remove string
	}{
		{PackageManagerApt,
			"dpkg-query -W -f=${Status}\t${Version} nginx",
			"apt-get install -y -q --no-install-recommends nginx",
			"apt-get install -y -q --no-install-recommends nginx=1.24-2",
			"apt-get remove -y -q nginx"},
		{PackageManagerDnf,
			"rpm -q --qf %{VERSION}-%{RELEASE} nginx",
			"dnf install -y -q nginx",
			"dnf install -y -q nginx-1.24-2",
			"dnf remove -y -q nginx"},
	} {
		t.Run(pm.name, func(t *testing.T) {
			r := newRig(t)
			r.cfg.PackageManager = pm.name
			r.build()
			pkg := func(spec string) *reconcile.Object {
				return obj(t, hdr+"kind: Package\nmetadata: {name: nginx}\nspec: {"+spec+"}")
			}
			steps := []struct {
				objs  []*reconcile.Object
				want  string
				calls []string
			}{
				{[]*reconcile.Object{pkg("")}, "created", []string{pm.query, pm.install}},
				{[]*reconcile.Object{pkg("")}, "unchanged", []string{pm.query}},
				{[]*reconcile.Object{pkg("version: 1.24-2")}, "configured", []string{pm.query, pm.upgrade}},
				{[]*reconcile.Object{pkg("version: \"1.24\"")}, "unchanged", []string{pm.query}},
				{nil, "deleted", []string{pm.query, pm.remove}},
				{[]*reconcile.Object{pkg("state: absent")}, "unchanged", []string{pm.query}},
			}
			for i, s := range steps {
				cs := r.sync(request("u", "r"+string(rune('1'+i)), true, s.objs...))
				if len(cs.Changes) != 1 || string(cs.Changes[0].Action) != s.want {
					t.Fatalf("step %d: changes %+v, want one %s", i, cs.Changes, s.want)
				}
				if got := r.shims.calls(t, false); !slices.Equal(got, s.calls) {
					t.Fatalf("step %d commands:\n  got  %q\n  want %q", i, got, s.calls)
				}
			}
		})
	}
}

func TestPackageManagerDetected(t *testing.T) {
	r := newRig(t)
	cs := r.sync(request("u", "r1", false, obj(t, hdr+"kind: Package\nmetadata: {name: jq}")))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/Package/jq created")
	want := []string{"apt-get --version", "dpkg-query -W -f=${Status}\t${Version} jq", "apt-get install -y -q --no-install-recommends jq"}
	if got := r.shims.calls(t, false); !slices.Equal(got, want) {
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
		obj(t, hdr+"kind: Unit\nmetadata: {name: web}\nspec: {state: running}"),
	}
	cs := r.sync(request("u", "r1", false, objs...))
	wantActions(t, cs.Changes, "h1 machine.steward.dev/Command/a-fails failed", "h1 machine.steward.dev/Unit/web skipped")
	if m := cs.Changes[0].Message; m != "sh -c echo boom >&2; exit 3 exited 3: boom" {
		t.Fatalf("message %q", m)
	}
	if m := cs.Changes[1].Message; m != "not applied: Command/a-fails failed" {
		t.Fatalf("message %q", m)
	}
}

// TestUser drives useradd/usermod/userdel through recording shims (the
// test must not change this machine's accounts) and asserts the commands.
func TestUser(t *testing.T) {
	r := newRig(t)
	user := func(spec string) *reconcile.Object {
		return obj(t, hdr+"kind: User\nmetadata: {name: deploy}\nspec: {"+spec+"}")
	}
	owned := obj(t, hdr+"kind: File\nmetadata: {name: key}\nspec: {path: /home/deploy/key, content: k, owner: deploy, group: deploy, mode: \"0600\"}")
	steps := []struct {
		objs  []*reconcile.Object
		want  []string
		calls []string
	}{
		{[]*reconcile.Object{user("uid: 2500, groups: [adm, sudo], shell: /bin/bash, home: /home/deploy"), owned},
			[]string{"h1 machine.steward.dev/User/deploy created", "h1 machine.steward.dev/File/key created"},
			[]string{"useradd -u 2500 -G adm,sudo -s /bin/bash -d /home/deploy -m deploy"}},
		{[]*reconcile.Object{user("uid: 2500, groups: [sudo, adm], shell: /bin/bash, home: /home/deploy"), owned},
			[]string{"h1 machine.steward.dev/User/deploy unchanged", "h1 machine.steward.dev/File/key unchanged"}, nil},
		{[]*reconcile.Object{user("uid: 2500, groups: [adm], shell: /bin/zsh"), owned},
			[]string{"h1 machine.steward.dev/User/deploy configured", "h1 machine.steward.dev/File/key unchanged"},
			[]string{"usermod -G adm -s /bin/zsh deploy"}},
		{nil,
			[]string{"h1 machine.steward.dev/File/key deleted", "h1 machine.steward.dev/User/deploy deleted"},
			[]string{"userdel deploy"}},
	}
	for i, s := range steps {
		cs := r.sync(request("u", "r"+string(rune('1'+i)), true, s.objs...))
		wantActions(t, cs.Changes, s.want...)
		if got := r.shims.calls(t, false); !slices.Equal(got, s.calls) {
			t.Fatalf("step %d commands:\n  got  %q\n  want %q", i, got, s.calls)
		}
		if i == 0 {
			fi, err := os.Stat(filepath.Join(r.root(h1), "home/deploy/key"))
			if err != nil {
				t.Fatal(err)
			}
			if info := infoOf(fi); info.UID != 2500 || info.GID != 2500 {
				t.Fatalf("owner %d:%d, want the new user 2500:2500", info.UID, info.GID)
			}
		}
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
