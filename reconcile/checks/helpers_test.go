package checks

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// load reads testdata fixtures; each file becomes the unit named after it
// (without extension).
func load(t testing.TB, files ...string) []UnitObjects {
	t.Helper()
	var units []UnitObjects
	for _, f := range files {
		p := filepath.Join("testdata", f)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := reconcile.DecodeObjects(data, p)
		if err != nil {
			t.Fatal(err)
		}
		units = append(units, UnitObjects{Unit: strings.TrimSuffix(f, filepath.Ext(f)), Objects: objs})
	}
	return units
}

func run(t testing.TB, rules []reconcile.Check, opts Options, files ...string) *Report {
	t.Helper()
	c, err := New(rules, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	rep, err := c.Check(context.Background(), load(t, files...))
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return rep
}

func failureStrings(r *Report) []string {
	out := make([]string, len(r.Failures))
	for i, f := range r.Failures {
		out[i] = f.String()
	}
	return out
}

func uncheckedStrings(r *Report) []string {
	out := make([]string, len(r.Unchecked))
	for i, u := range r.Unchecked {
		out[i] = u.String()
	}
	return out
}

func diffLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n\t%s\nwant:\n\t%s", what, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}
