package reconcile_test

import (
	"context"
	"os"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

func TestStackIdentity(t *testing.T) {
	for _, tt := range []struct{ url, dir, want string }{
		{"https://git.example.com/ops/shop.git", ".", "https://git.example.com/ops/shop.git"},
		{"https://user:s3cret@git.example.com/ops/shop.git", "clusters/prod", "https://git.example.com/ops/shop.git//clusters/prod"},
		{"file:///srv/repo", "stacks/a/", "file:///srv/repo//stacks/a"},
	} {
		if got := reconcile.StackIdentity(tt.url, tt.dir); got != tt.want {
			t.Errorf("StackIdentity(%q, %q) = %q, want %q", tt.url, tt.dir, got, tt.want)
		}
	}
}

// Every unit Generate returns carries its stack's identity: name: when the
// stack file sets one, else the default the stages were given.
func TestGenerateStackIdentity(t *testing.T) {
	for _, tt := range []struct{ name, stackName, def, want string }{
		{"named", "name: shop\n", "https://git.example.com/x.git", "shop"},
		{"default", "", "https://git.example.com/x.git//prod", "https://git.example.com/x.git//prod"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{
				"steward.yaml": "apiVersion: steward.dev/v1\nkind: Stack\n" + tt.stackName +
					"targets:\n  prod: {kubernetes: {}}\nunits:\n  - {name: a, path: a, generator: {yaml: {}}, target: prod}\n",
				"a/c.yaml": configMap("c", "1"),
			})
			st := yamlStages()
			st.StackIdentity = tt.def
			g, err := reconcile.Generate(context.Background(), &reconcile.Revision{Tree: os.DirFS(dir), Dir: dir}, nil, st)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.Stack.Identity(); got != tt.want {
				t.Errorf("stack identity %q, want %q", got, tt.want)
			}
			if got := g.Units[0].Unit.StackName(); got != tt.want {
				t.Errorf("unit's stack %q, want %q", got, tt.want)
			}
		})
	}
}
