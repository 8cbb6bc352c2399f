package images

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testRefs are the images the golden tests set.
var testRefs = map[string]Ref{
	"app":     {Name: "registry.example.com/team/app", Tag: "1.3.0"},
	"web":     {Name: "registry.example.com/team/web", Tag: "2.0.0-rc.1", Digest: "sha256:" + strings.Repeat("ab", 32)},
	"podinfo": {Name: "ghcr.io/stefanprodan/podinfo", Tag: "6.5.0"},
}

func setRefs(refs map[string]Ref) func(Marker) (string, bool) {
	return func(m Marker) (string, bool) {
		r, ok := refs[m.Policy]
		if !ok || (m.Field == FieldDigest && r.Digest == "") {
			return "", false
		}
		return r.Value(m.Field), true
	}
}

// TestRewriteGolden rewrites every file of testdata/rewrite; NAME.golden
// holds the result and NAME.log the changes and warnings. Independently of
// the golden files, every line without a change must be byte-identical.
func TestRewriteGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/rewrite/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(f)
			out, changes, warns := Rewrite(name, in, setRefs(testRefs))
			var log strings.Builder
			changed := map[int]bool{}
			for _, c := range changes {
				changed[c.Line] = true
				fmt.Fprintf(&log, "change %s:%d %s:%s %s -> %s\n", c.File, c.Line, c.Policy, c.Field, c.Old, c.New)
			}
			for _, w := range warns {
				fmt.Fprintf(&log, "warning %s\n", w)
			}
			assertOnlyLinesChanged(t, in, out, changed)
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", out)
			golden(t, strings.TrimSuffix(f, ".yaml")+".log", []byte(log.String()))
			// A second pass changes nothing: the rewrite is idempotent.
			again, more, _ := Rewrite(name, out, setRefs(testRefs))
			if len(more) != 0 || !bytes.Equal(again, out) {
				t.Fatalf("second rewrite changed %v", more)
			}
		})
	}
}

func assertOnlyLinesChanged(t *testing.T, in, out []byte, changed map[int]bool) {
	t.Helper()
	il, ol := bytes.SplitAfter(in, []byte("\n")), bytes.SplitAfter(out, []byte("\n"))
	if len(il) != len(ol) {
		t.Fatalf("line count %d -> %d", len(il), len(ol))
	}
	for i := range il {
		if !changed[i+1] && !bytes.Equal(il[i], ol[i]) {
			t.Errorf("unmarked line %d changed:\n%q\n%q", i+1, il[i], ol[i])
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
