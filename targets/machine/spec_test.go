package machine_test

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
)

const hdr = "apiVersion: machine.steward.dev/v1\n"

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		yaml  string
		field string // the field the error names; "" means valid
		msg   string // a part of the message
	}{
		{"file", "kind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, content: hi, mode: \"0644\", owner: root, group: root}", "", ""},
		{"file template", "kind: File\nmetadata: {name: m}\nspec: {path: /etc/m, content: '{{.Host}}', template: true}", "", ""},
		{"directory", "kind: Directory\nmetadata: {name: d}\nspec: {path: /srv/app, mode: \"0750\"}", "", ""},
		{"unit", "kind: Unit\nmetadata: {name: web}\nspec: {content: x, enabled: true, state: running, watches: [File/motd]}", "", ""},
		{"package", "kind: Package\nmetadata: {name: nginx}\nspec: {version: 1.2.3-1}", "", ""},
		{"command creates", "kind: Command\nmetadata: {name: init}\nspec: {run: [/bin/init], creates: /var/lib/x}", "", ""},
		{"command watches", "kind: Command\nmetadata: {name: reload}\nspec: {run: [nginx, -s, reload], watches: [File/conf]}", "", ""},
		{"user", "kind: User\nmetadata: {name: deploy}\nspec: {uid: 1500, groups: [adm], shell: /bin/bash, home: /home/deploy}", "", ""},

		{"unknown spec field", "kind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, contnet: hi}", "spec.contnet", "unknown field"},
		{"unknown top field", "kind: File\nmetadata: {name: motd}\nstatus: {}\nspec: {path: /etc/motd}", "status", "unknown field"},
		{"unknown kind", "kind: Service\nmetadata: {name: x}\nspec: {}", "kind", "unknown machine kind"},
		{"mode as number", "kind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, mode: 0644}", "spec.mode", "quoted octal"},
		{"mode not octal", "kind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, mode: \"0999\"}", "spec.mode", "invalid mode"},
		{"mode too long", "kind: Directory\nmetadata: {name: d}\nspec: {path: /d, mode: \"04755\"}", "spec.mode", "invalid mode"},
		{"relative path", "kind: File\nmetadata: {name: motd}\nspec: {path: etc/motd}", "spec.path", "relative"},
		{"unclean path", "kind: Directory\nmetadata: {name: d}\nspec: {path: /srv/../etc}", "spec.path", "not clean"},
		{"missing path", "kind: File\nmetadata: {name: motd}\nspec: {content: x}", "spec.path", "required"},
		{"content and source", "kind: File\nmetadata: {name: motd}\nspec: {path: /m, content: x, source: m.txt}", "spec.content", "exclusive"},
		{"source absolute", "kind: File\nmetadata: {name: motd}\nspec: {path: /m, source: /etc/passwd}", "spec.source", "relative to the unit"},
		{"content wrong type", "kind: File\nmetadata: {name: motd}\nspec: {path: /m, content: [a]}", "spec.content", "want a string"},
		{"command no guard", "kind: Command\nmetadata: {name: c}\nspec: {run: [touch, /x]}", "spec", "needs a guard"},
		{"command run string", "kind: Command\nmetadata: {name: c}\nspec: {run: \"touch /x\", creates: /x}", "spec.run", "list of strings"},
		{"command unless string", "kind: Command\nmetadata: {name: c}\nspec: {run: [swapon, /s], unless: \"grep -q /s /proc/swaps\"}", "spec.unless", "list of strings"},
		{"command empty run", "kind: Command\nmetadata: {name: c}\nspec: {run: [], creates: /x}", "spec.run", "required"},
		{"command relative creates", "kind: Command\nmetadata: {name: c}\nspec: {run: [x], creates: var/x}", "spec.creates", "relative"},
		{"bad watch", "kind: Unit\nmetadata: {name: web}\nspec: {watches: [motd]}", "spec.watches[0]", "Kind/name"},
		{"watch unknown kind", "kind: Command\nmetadata: {name: c}\nspec: {run: [x], watches: [Deployment/web]}", "spec.watches[0]", "machine kind"},
		{"unit bad state", "kind: Unit\nmetadata: {name: web}\nspec: {state: started}", "spec.state", "running or stopped"},
		{"unit enabled string", "kind: Unit\nmetadata: {name: web}\nspec: {enabled: \"yes\"}", "spec.enabled", "true or false"},
		{"package bad state", "kind: Package\nmetadata: {name: p}\nspec: {state: installed}", "spec.state", "present or absent"},
		{"package absent version", "kind: Package\nmetadata: {name: p}\nspec: {state: absent, version: \"1\"}", "spec.version", "absent"},
		{"user bad name", "kind: User\nmetadata: {name: u}\nspec: {name: \"Bad User\"}", "spec.name", "invalid user name"},
		{"user negative uid", "kind: User\nmetadata: {name: u}\nspec: {uid: -1}", "spec.uid", "negative"},
		{"user uid string", "kind: User\nmetadata: {name: u}\nspec: {uid: \"1000\"}", "spec.uid", "an integer"},
		{"owner bad", "kind: File\nmetadata: {name: m}\nspec: {path: /m, owner: \"a b\"}", "spec.owner", "invalid user"},
		{"namespace", "kind: File\nmetadata: {name: m, namespace: x}\nspec: {path: /m}", "metadata.namespace", "no namespace"},
		{"spec not mapping", "kind: File\nmetadata: {name: m}\nspec: [a]", "spec", "mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := obj(t, hdr+tc.yaml)
			err := machine.Validate(o)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var se *machine.SpecError
			if !errors.As(err, &se) {
				t.Fatalf("want *SpecError, got %v", err)
			}
			id := machine.ObjName(reconcile.IDOf(o))
			if se.Field != tc.field || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), id+": ") {
				t.Fatalf("error %q: want it to start with %s, name field %q (got %q) and say %q", err, id, tc.field, se.Field, tc.msg)
			}
		})
	}
}

func TestPlanRefusesBadUnitObjects(t *testing.T) {
	r := newRig(t)
	tests := []struct {
		name string
		objs []string
		msg  string
	}{
		{"watch undeclared", []string{"kind: Unit\nmetadata: {name: web}\nspec: {watches: [File/nope]}"}, "Unit/web: spec.watches[0]: File/nope is not declared"},
		{"watch cycle", []string{
			"kind: Command\nmetadata: {name: a}\nspec: {run: [x], watches: [Command/b]}",
			"kind: Command\nmetadata: {name: b}\nspec: {run: [x], watches: [Command/a]}"}, "watch cycle"},
		{"same path", []string{
			"kind: File\nmetadata: {name: a}\nspec: {path: /etc/x}",
			"kind: File\nmetadata: {name: b}\nspec: {path: /etc/x}"}, "File/b: manages /etc/x like File/a"},
		{"duplicate", []string{
			"kind: File\nmetadata: {name: a}\nspec: {path: /etc/x}",
			"kind: File\nmetadata: {name: a}\nspec: {path: /etc/y}"}, "duplicate object machine.steward.dev/File/a"},
		{"unresolved source", []string{"kind: File\nmetadata: {name: a}\nspec: {path: /etc/x, source: x.conf}"}, "ResolveSources"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var objs []*reconcile.Object
			for _, y := range tc.objs {
				objs = append(objs, obj(t, hdr+y))
			}
			p, err := r.target.Plan(t.Context(), request("u", "r1", false, objs...))
			if err == nil {
				// Host-level problems fail the host's changes instead.
				for _, c := range p.Changes {
					if c.Action == reconcile.Failed && strings.Contains(c.Message, tc.msg) {
						return
					}
				}
				t.Fatalf("want an error saying %q, got plan %+v", tc.msg, p.Changes)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not say %q", err, tc.msg)
			}
		})
	}
}

func TestResolveSources(t *testing.T) {
	tree := fstest.MapFS{
		"hosts/web/files/motd":    {Data: []byte("hello\n")},
		"hosts/web/files/logo":    {Data: []byte{0xff, 0x00, 0xfe}},
		"hosts/web/dir/x":         {Data: []byte("x")},
		"hosts/common/shared.txt": {Data: []byte("shared\n")},
	}
	tests := []struct {
		name    string
		source  string
		content string // want spec.content
		b64     string // want spec.contentBase64
		err     string
	}{
		{"text", "files/motd", "hello\n", "", ""},
		{"binary", "files/logo", "", "/wD+", ""},
		{"sibling inside repo", "../common/shared.txt", "shared\n", "", ""},
		{"outside repo", "../../../etc/passwd", "", "", "leads outside the repository"},
		{"absolute", "/etc/passwd", "", "", "relative to the unit directory"},
		{"missing", "files/nope", "", "", "hosts/web/files/nope: no such file"},
		{"directory", "dir", "", "", "not a regular file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := obj(t, hdr+"kind: File\nmetadata: {name: f}\nspec: {path: /etc/f, source: \""+tc.source+"\"}")
			err := machine.ResolveSources([]*reconcile.Object{o}, tree, "hosts/web")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "File/f: spec.source") {
					t.Fatalf("want error naming File/f spec.source and %q, got %v", tc.err, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			spec := o.Object["spec"].(map[string]any)
			if _, has := spec["source"]; has {
				t.Fatal("source left in spec")
			}
			if got, _ := spec["content"].(string); got != tc.content {
				t.Fatalf("content %q, want %q", got, tc.content)
			}
			if got, _ := spec["contentBase64"].(string); got != tc.b64 {
				t.Fatalf("contentBase64 %q, want %q", got, tc.b64)
			}
			if err := machine.Validate(o); err != nil {
				t.Fatalf("resolved object invalid: %v", err)
			}
		})
	}
}

func FuzzValidate(f *testing.F) {
	f.Add(hdr + "kind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, content: hi, mode: \"0644\"}")
	f.Add(hdr + "kind: Command\nmetadata: {name: c}\nspec: {run: [x], unless: [y], watches: [File/a]}")
	f.Add(hdr + "kind: User\nmetadata: {name: u}\nspec: {uid: 5, groups: [a, b]}")
	f.Add(hdr + "kind: Unit\nmetadata: {name: u}\nspec: {enabled: true, state: running}")
	f.Fuzz(func(t *testing.T, y string) {
		objs, err := reconcile.DecodeObjects([]byte(y), "fuzz.yaml")
		if err != nil {
			return
		}
		for _, o := range objs {
			err := machine.Validate(o)
			var se *machine.SpecError
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("error is not a *SpecError: %v", err)
			}
			if err == nil {
				if err := machine.DecodeAll([]*reconcile.Object{o}); err != nil {
					var se *machine.SpecError
					if !errors.As(err, &se) {
						t.Fatalf("decodeAll of a valid object: %v", err)
					}
				}
			}
		}
	})
}
