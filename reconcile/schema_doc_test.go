package reconcile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStackReferenceInSync keeps docs/stack-reference.md equal to the
// reference rendered from the schema (-update rewrites it).
func TestStackReferenceInSync(t *testing.T) {
	got, err := StackReference()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("..", "docs", "stack-reference.md")
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of date: run go test ./reconcile -run TestStackReferenceInSync -update", file)
	}
}

// TestStackReferenceCoversEveryField checks the rendering itself: every
// field of Unit and Stack has a row, and typed fields are written as types.
func TestStackReferenceCoversEveryField(t *testing.T) {
	got, err := StackReference()
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	for _, want := range []string{
		"## Stack\n", "## Unit\n",
		"| `units` | [][Unit](#unit) | yes |",
		"| `dependsOn` | []string |",
		"| `generator` | [GeneratorSpec](#generatorspec) |  |",
		"| `timeout` | duration |",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("reference lacks %q", want)
		}
	}
}
