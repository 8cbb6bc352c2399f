package writeback_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	testregistry "github.com/stewardhq/steward/deploy/testenv/registry"
	"github.com/stewardhq/steward/generators/yaml"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/checks"
	"github.com/stewardhq/steward/reconcile/images"
	"github.com/stewardhq/steward/reconcile/writeback"
	"github.com/stewardhq/steward/sources/git"
	"github.com/stewardhq/steward/sources/registry"
)

// fixture is a repository on git's http-backend whose markers name images
// of a real registry.
type fixture struct {
	srv   *gitserver.Server
	repo  *gitserver.Repo
	reg   *testregistry.Registry
	stack string
}

const stackTmpl = `apiVersion: steward.dev/v1
kind: Stack
targets:
  prod: {kubernetes: {credentials: prod}}
units:
  - {name: app, path: apps/app, generator: {yaml: {}}, target: prod, output: rendered/app}
  - {name: web, path: apps/web, generator: {yaml: {}}, target: prod}
images:
  insecureRegistries: [HOST]
  policies:
    - {name: app, image: HOST/team/app, semver: ">=1.0.0"}
    - {name: web, image: HOST/team/web, semver: ">=1.0.0"}
checks:
  - {name: no-devil, match: {kind: ConfigMap}, cel: "!has(object.data.tag) || object.data.tag != '6.6.6'", message: "tag 6.6.6 is refused"}
`

const appCM = `apiVersion: v1
kind: ConfigMap
metadata: {name: app, namespace: apps}
data:
  # two policies in one file
  image: HOST/team/app:1.0.0 # {"$imagepolicy": "app"}
  sidecar: "HOST/team/web:1.0.0" # {"$imagepolicy": "web"}
  other: unchanged
`

const webCM = `apiVersion: v1
kind: ConfigMap
metadata: {name: web, namespace: apps}
data:
  tag: '1.0.0' # {"$imagepolicy": "web:tag"}
`

// newFixture starts a registry with team/app and team/web at 1.0.0 and a
// repository whose committed output matches what it generates.
func newFixture(t *testing.T, opts gitserver.Options) *fixture {
	t.Helper()
	f := &fixture{srv: gitserver.Start(t, opts), reg: testregistry.Start(t, testregistry.Options{})}
	f.repo = f.srv.NewRepo(t, "shop")
	host := f.reg.Host
	f.stack = strings.ReplaceAll(stackTmpl, "HOST", host)
	f.pushTags(t, "team/app", "1.0.0")
	f.pushTags(t, "team/web", "1.0.0")
	f.repo.Write(t, map[string]string{
		"steward.yaml":         f.stack,
		"apps/app/cm.yaml":     strings.ReplaceAll(appCM, "HOST", host),
		"apps/web/cm.yaml":     strings.ReplaceAll(webCM, "HOST", host),
		"docs/README.md":       "not a unit\n",
		"apps/web/.hidden.yml": "x: 1\n",
	})
	// Commit the app unit's generated output.
	root, err := os.OpenRoot(f.repo.Work)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	gen, err := reconcile.Generate(t.Context(), &reconcile.Revision{Tree: root.FS(), Dir: f.repo.Work}, nil, stages())
	if err != nil || gen.Err() != nil {
		t.Fatalf("generate: %v %v", err, gen.Err())
	}
	for _, r := range gen.Units {
		if r.Unit.Output != "" {
			files, err := reconcile.OutputFiles(r.Objects)
			if err != nil {
				t.Fatal(err)
			}
			if err := reconcile.WriteOutput(root, r.Unit.Output, files); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.repo.Commit(t, "base", nil)
	return f
}

var created = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func (f *fixture) pushTags(t *testing.T, repo string, tags ...string) {
	t.Helper()
	for _, tag := range tags {
		f.reg.PushAt(t, repo, tag, created)
	}
}

// stages generate with the yaml generator and run steward's checks, as
// `steward verify` does.
func stages() reconcile.Stages {
	ro := reconcile.DefaultRenderOptions()
	ro.Generators = func(u *reconcile.Unit) (reconcile.Generator, error) { return yaml.New(u.Generator.YAML), nil }
	return reconcile.Stages{Renderer: reconcile.NewRenderer(ro), Checks: checks.For(checks.DefaultOptions())}
}

// remote is a write-back client of the fixture's repository with its own
// clone.
func (f *fixture) remote(t *testing.T, auth git.Auth) *git.Remote {
	t.Helper()
	o := git.DefaultSourceOptions()
	o.AllowInsecureHTTP = true // the fixture's git server is plain http on loopback
	o.URL, o.CacheDir, o.Auth = f.repo.URL, t.TempDir(), auth
	s, err := git.NewSource(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &git.Remote{Source: s}
}

// scan reads the registry for the stack's policies.
func (f *fixture) scan(t *testing.T, stackYAML string) []images.Choice {
	t.Helper()
	s, err := reconcile.ParseStack([]byte(stackYAML), reconcile.StackFile)
	if err != nil {
		t.Fatal(err)
	}
	ro := registry.DefaultOptions()
	ro.ConfigFile = filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(ro.ConfigFile, []byte(`{"auths": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	ro.Insecure = s.Images.InsecureRegistries
	ro.Retries = 0
	c, err := registry.New(ro)
	if err != nil {
		t.Fatal(err)
	}
	return images.Scan(t.Context(), c.Scan(), s.Images.Policies, images.DefaultOptions())
}

func (f *fixture) options() writeback.Options {
	o := writeback.DefaultOptions()
	o.Branch, o.Stages, o.TempDir = "main", stages(), ""
	return o
}

// show is a file of a branch of the bare repository.
func (f *fixture) show(t *testing.T, rev, file string) string {
	t.Helper()
	return f.repo.GitBare(t, "show", rev+":"+file)
}

// hooked runs before once, just before the first push.
type hooked struct {
	writeback.Remote
	before func()
}

func (h *hooked) Push(ctx context.Context, branch string, force bool) error {
	if h.before != nil {
		b := h.before
		h.before = nil
		b()
	}
	return h.Remote.Push(ctx, branch, force)
}
