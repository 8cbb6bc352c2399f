package images

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
)

// FuzzRewrite: whatever the file and whatever value is set, the rewriter
// changes no line it does not report, a YAML file stays YAML with the same
// structure, and every reported change reads back as its new value.
func FuzzRewrite(f *testing.F) {
	files, _ := filepath.Glob("testdata/rewrite/*.yaml")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, "registry.example.com/team/app:9.9.9")
	}
	f.Add([]byte("a: x # {\"$imagepolicy\": \"app\"}\n"), "y: z")
	f.Add([]byte("a: 'x' # {\"$imagepolicy\": \"app:tag\"}\r\n"), "it's")
	f.Fuzz(func(t *testing.T, data []byte, value string) {
		set := func(Marker) (string, bool) { return value, true }
		out, changes, _ := Rewrite("f.yaml", data, set)
		changed := map[int]string{}
		for _, c := range changes {
			changed[c.Line] = c.New
		}
		il, ol := bytes.SplitAfter(data, []byte("\n")), bytes.SplitAfter(out, []byte("\n"))
		if len(il) != len(ol) {
			t.Fatalf("line count %d -> %d", len(il), len(ol))
		}
		for i := range il {
			if _, ok := changed[i+1]; !ok && !bytes.Equal(il[i], ol[i]) {
				t.Fatalf("unreported change of line %d:\n%q\n%q", i+1, il[i], ol[i])
			}
		}
		if len(changes) == 0 {
			if !bytes.Equal(data, out) {
				t.Fatal("no change reported but the file changed")
			}
			return
		}
		before, err := decodeAll(data)
		if err != nil {
			t.Fatalf("changed a file that is not YAML: %v", err)
		}
		after, err := decodeAll(out)
		if err != nil {
			t.Fatalf("the rewrite corrupted the file: %v\n%q", err, out)
		}
		if len(before) != len(after) {
			t.Fatalf("documents %d -> %d", len(before), len(after))
		}
		for i := range before {
			sameTree(t, before[i], after[i], changed)
		}
	})
}

func decodeAll(data []byte) ([]*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &n)
	}
}

// sameTree compares two node trees: equal kinds, styles, tags and values,
// except that a scalar on a changed line holds the new value.
func sameTree(t *testing.T, a, b *yaml.Node, changed map[int]string) {
	t.Helper()
	if a.Kind != b.Kind || a.Line != b.Line || len(a.Content) != len(b.Content) || a.Style != b.Style || a.LineComment != b.LineComment {
		t.Fatalf("structure changed at line %d: %v/%v vs %v/%v", a.Line, a.Kind, a.Value, b.Kind, b.Value)
	}
	if a.Kind == yaml.ScalarNode && a.Value != b.Value {
		if v, ok := changed[a.Line]; !ok || b.Value != v || a.LineComment == "" {
			t.Fatalf("scalar on line %d: %q -> %q (changes %v)", a.Line, a.Value, b.Value, changed)
		}
	}
	for i := range a.Content {
		sameTree(t, a.Content[i], b.Content[i], changed)
	}
}
