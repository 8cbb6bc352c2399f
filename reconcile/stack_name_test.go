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

func TestSameStack(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"shop", "shop", true},
		{"shop", "Shop", false},
		{"https://git.example.com/ops/shop.git", "git@git.example.com:ops/shop.git", true},
		{"https://git.example.com/ops/shop.git//prod", "ssh://git@Git.Example.com:22/ops/shop//prod", true},
		{"https://git.example.com:443/ops/shop/", "http://git.example.com/ops/shop.git", true},
		{"https://git.example.com/ops/shop.git//prod", "git@git.example.com:ops/shop.git//staging", false},
		{"https://git.example.com/ops/shop.git//prod", "git@git.example.com:ops/shop.git", false},
		{"https://git.example.com/ops/shop.git", "https://git.example.com/ops/other.git", false},
		{"https://git.example.com:8443/ops/shop.git", "https://git.example.com/ops/shop.git", false},
		{"https://git.example.com/ops/shop.git", "https://mirror.example.com/ops/shop.git", false},
		{"file:///srv/repo", "file:///srv/other/repo", false},
		{"file:///srv/repo//a", "https://srv/repo//a", false},
		{"shop", "git@git.example.com:shop", false},
	} {
		if got := reconcile.SameStack(tt.a, tt.b); got != tt.same {
			t.Errorf("SameStack(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.same)
		}
		if got := reconcile.SameStack(tt.b, tt.a); got != tt.same {
			t.Errorf("SameStack(%q, %q) = %v, want %v", tt.b, tt.a, got, tt.same)
		}
	}
	// An inventory written through an https clone is this stack's when the
	// daemon follows the ssh URL; another repository's is a collision.
	if err := reconcile.CheckInventoryOwner("target prod", "app", "https://git.example.com/ops/shop.git", "git@git.example.com:ops/shop.git"); err != nil {
		t.Errorf("same repository by ssh: %v", err)
	}
	if err := reconcile.CheckInventoryOwner("target prod", "app", "https://git.example.com/ops/other.git", "git@git.example.com:ops/shop.git"); err == nil {
		t.Error("another repository's inventory was taken")
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
