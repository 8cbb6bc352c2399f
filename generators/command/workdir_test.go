package command

import (
	"slices"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// readable lists the unit's path, its extraPaths and run[0] when it is a
// file of the repository, each once and none under another.
func TestReadable(t *testing.T) {
	tests := []struct {
		name  string
		dir   string
		extra []string
		run   string
		want  []string
	}{
		{"path only", "apps/web", nil, "./gen.sh", []string{"apps/web"}},
		{"extraPaths", "apps/web", []string{"lib", "apps/shared/"}, "gen", []string{"apps/shared", "apps/web", "lib"}},
		{"nested and repeated", "apps", []string{"apps/web", "apps", "apps-old"}, "./gen.sh", []string{"apps", "apps-old"}},
		{"program elsewhere in the repository", "apps/web", nil, "../../bin/gen.sh", []string{"apps/web", "bin/gen.sh"}},
		{"program leaving the repository", "apps/web", nil, "../../../gen.sh", []string{"apps/web"}},
		{"absolute program", "apps/web", nil, "/usr/bin/env", []string{"apps/web"}},
		{"the whole repository", ".", []string{"lib"}, "./bin/gen.sh", []string{"."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := New(&reconcile.CommandGenerator{Run: []string{tt.run}})
			got := g.readable(reconcile.GenerateRequest{Dir: tt.dir, Unit: &reconcile.Unit{ExtraPaths: tt.extra}})
			if !slices.Equal(got, tt.want) {
				t.Errorf("readable = %q, want %q", got, tt.want)
			}
		})
	}
}
