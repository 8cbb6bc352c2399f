package writeback_test

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/writeback"
)

// A package unit is affected by steward.yaml and steward.lock only: its
// files are the package's, not the repository's.
func TestAffectedPackageUnits(t *testing.T) {
	stack, err := reconcile.ParseStack([]byte(`apiVersion: steward.dev/v1
kind: Stack
targets:
  here: {local: {root: out}}
units:
  - {name: app, path: app, generator: {yaml: {}}, target: here}
  - {name: db, package: {git: "https://git.example.com/ops", path: postgres}, target: here}
`), "steward.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{"app/conf.yaml"}, "app"},
		{[]string{"postgres/gen.sh", "README.md"}, ""},
		{[]string{"steward.lock"}, "db"},
		{[]string{"steward.yaml"}, "app,db"},
	} {
		if got := strings.Join(writeback.Affected(stack, tc.files), ","); got != tc.want {
			t.Errorf("Affected(%v) = %q, want %q", tc.files, got, tc.want)
		}
	}
}
