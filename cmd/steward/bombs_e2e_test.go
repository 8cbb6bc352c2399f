package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	"github.com/stewardhq/steward/reconcile/status"
)

// bombFile is a machine File object named name at /name.txt.
func bombFile(name, content string, template bool) string {
	return fmt.Sprintf("apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: %s}\nspec: {path: /%s.txt, template: %v, content: %q}\n", name, name, template, content)
}

// bombStack has one unit per generator a bomb goes through, all on a local
// target.
func bombStack(out, v string) map[string]string {
	return map[string]string{
		"steward.yaml": "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: " + out + "}}\nunits:\n" +
			"  - {name: helm, path: helm, generator: {helm: {}}, target: here}\n" +
			"  - {name: jsonnet, path: jsonnet, generator: {jsonnet: {file: main.jsonnet}}, target: here}\n" +
			"  - {name: yaml, path: yaml, generator: {yaml: {}}, target: here}\n" +
			"  - {name: tmpl, path: tmpl, generator: {yaml: {}}, target: here}\n",
		"helm/Chart.yaml":          "apiVersion: v2\nname: files\nversion: 1.0.0\n",
		"helm/templates/file.yaml": bombFile("helm", v, false),
		"jsonnet/main.jsonnet":     "{apiVersion: 'machine.steward.dev/v1', kind: 'File', metadata: {name: 'jsonnet'}, spec: {path: '/jsonnet.txt', content: '" + v + "'}}\n",
		"yaml/file.yaml":           bombFile("yaml", v, false),
		"tmpl/file.yaml":           bombFile("tmpl", "{{if .Host}}"+v+"{{end}}", true),
	}
}

// aliasBomb is a File whose document holds a 1 MB scalar aliased 1000 times
// (a gigabyte decoded).
func aliasBomb() string {
	var b strings.Builder
	b.WriteString(bombFile("yaml", "v1", false))
	b.WriteString("extra:\n  - &big \"" + strings.Repeat("x", 1<<20) + "\"\n")
	for range 1000 {
		b.WriteString("  - *big\n")
	}
	return b.String()
}

// TestRunRefusesBombs pushes, one commit at a time, each revision that used
// to take `steward run` down with an out-of-memory fatal error: helm `range
// until 300000000`, a jsonnet tailstrict recursion, a 1 MB YAML scalar
// aliased 1000 times, and a File template doubling a string 40 times. The
// daemon stays up; a revision that cannot generate is refused as a whole with
// the reason in /api/status, the template's unit fails on its limit, and the
// first revision's files stay as they were. A good commit afterwards applies.
func TestRunRefusesBombs(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	repo := srv.NewRepo(t, "bombs")
	out := t.TempDir()
	rev1 := repo.Commit(t, "v1", bombStack(out, "v1"))
	bin, work := buildSteward(t), t.TempDir()
	d := startDaemon(t, bin, work, []string{"STEWARD_WEBHOOK_SECRET=" + e2eSecret}, "run", "--repo", srv.RepoURL("bombs"),
		"--interval", "1h", "--poll-interval", "1h", "--generator-memory", "256Mi")
	d.waitFor(t, "every unit applied at the first revision", 2*time.Minute, func(s *status.Snapshot) bool {
		for _, u := range []string{"helm", "jsonnet", "yaml", "tmpl"} {
			if unitState(s, u).Revision != rev1 {
				return false
			}
		}
		return true
	})
	files := func() string {
		var got []string
		for _, n := range []string{"helm", "jsonnet", "yaml", "tmpl"} {
			b, err := os.ReadFile(filepath.Join(out, n+".txt"))
			if err != nil {
				b = []byte("<" + err.Error() + ">")
			}
			got = append(got, n+"="+string(b))
		}
		return strings.Join(got, " ")
	}
	const applied = "helm=v1 jsonnet=v1 yaml=v1 tmpl=v1"
	if got := files(); got != applied {
		t.Fatalf("first revision applied %s", got)
	}
	before := peakRSS(t, d.cmd.Process.Pid)

	good := bombStack(out, "v1")
	for _, tt := range []struct {
		name   string
		files  map[string]string
		reason string
	}{
		{"helm range until", map[string]string{"helm/templates/file.yaml": bombFile("helm", "{{ range until 300000000 }}x{{ end }}", false)}, "unit helm: generator ran out of memory (limit 256 MiB)"},
		{"jsonnet tailstrict", map[string]string{"jsonnet/main.jsonnet": "local grow(a, n) = if n == 0 then a else grow(a + a, n - 1) tailstrict;\n" +
			"{apiVersion: 'machine.steward.dev/v1', kind: 'File', metadata: {name: 'jsonnet'}, spec: {path: '/jsonnet.txt', content: '' + std.length(grow([1], 40))}}\n"},
			"unit jsonnet: generator ran out of memory (limit 256 MiB)"},
		{"yaml alias", map[string]string{"yaml/file.yaml": aliasBomb()}, "document expands to more than 64 MiB (alias bomb?)"},
	} {
		change := map[string]string{}
		for k, v := range good {
			if k != "steward.yaml" {
				change[k] = v
			}
		}
		for k, v := range tt.files {
			change[k] = v
		}
		bad := repo.Commit(t, tt.name, change)
		d.push(t, e2eSecret)
		d.waitFor(t, tt.name+" refused", 2*time.Minute, func(s *status.Snapshot) bool {
			return s != nil && strings.Contains(s.SourceError, tt.reason)
		})
		s := d.status(t)
		for _, u := range s.Units {
			if u.Revision != rev1 || u.LastAttemptedRevision == bad {
				t.Errorf("%s: unit %s at %s (attempted %s), want %s", tt.name, u.Name, u.Revision, u.LastAttemptedRevision, rev1)
			}
		}
		if got := files(); got != applied {
			t.Errorf("%s: files %s after the refused revision", tt.name, got)
		}
		if err := d.cmd.Process.Signal(syscall.Signal(0)); err != nil {
			t.Fatalf("%s: daemon gone: %v", tt.name, err)
		}
	}

	// The template bomb generates (it renders on the target): its unit
	// fails on the File template limit, the host's plan as a whole, and
	// tmpl.txt stays.
	tmpl := repo.Commit(t, "template bomb", map[string]string{"yaml/file.yaml": good["yaml/file.yaml"], "tmpl/file.yaml": bombFile("tmpl", templateBomb(), true)})
	d.push(t, e2eSecret)
	d.waitFor(t, "the template bomb failing its unit", 2*time.Minute, func(s *status.Snapshot) bool {
		u := unitState(s, "tmpl")
		return u.LastAttemptedRevision == tmpl && u.State == status.StateFailed && strings.Contains(u.LastError, "the File template limit")
	})
	if got := files(); got != applied {
		t.Errorf("template bomb: files %s", got)
	}

	// A good commit afterwards applies.
	rev2 := repo.Commit(t, "v2", bombStack(out, "v2"))
	d.push(t, e2eSecret)
	d.waitFor(t, "the good commit applied", 2*time.Minute, func(s *status.Snapshot) bool {
		return s != nil && s.SourceError == "" && unitState(s, "tmpl").Revision == rev2 && unitState(s, "helm").Revision == rev2
	})
	if got := files(); got != "helm=v2 jsonnet=v2 yaml=v2 tmpl=v2" {
		t.Errorf("good commit: files %s", got)
	}
	t.Logf("peak RSS of steward run: %.0f MiB after the first revision, %.0f MiB after every bomb", before, peakRSS(t, d.cmd.Process.Pid))
	if err := d.stop(t); err != nil {
		t.Fatalf("SIGTERM: exit %v\n%s", err, d.log)
	}
}

// templateBomb doubles a string forty times (a terabyte) in under 3 KB.
func templateBomb() string {
	var b strings.Builder
	b.WriteString(`{{$s := "` + strings.Repeat("steward ", 8) + `"}}`)
	for range 40 {
		b.WriteString(`{{$s = printf "%s%s" $s $s}}` + "\n")
	}
	b.WriteString("{{$s}}\n")
	return b.String()
}
