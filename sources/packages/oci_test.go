package packages_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	testregistry "github.com/stewardhq/steward/deploy/testenv/registry"
	"github.com/stewardhq/steward/sources/packages"
	"github.com/stewardhq/steward/sources/registry"
)

func ociResolver(t *testing.T, cache, host string) *packages.Resolver {
	t.Helper()
	ro := registry.DefaultOptions()
	ro.Insecure, ro.ConfigFile = []string{host}, filepath.Join(t.TempDir(), "none.json")
	if err := os.WriteFile(ro.ConfigFile, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	ro.Retries = 1
	opts := packages.DefaultOptions()
	opts.CacheDir, opts.Registry = cache, &ro
	r, err := packages.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// greeterDir writes the greeter package at version into a directory.
func greeterDir(t *testing.T, version string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range greeter(version) {
		p := filepath.Join(dir, strings.TrimPrefix(name, "greeter/"))
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func ociUnit(name, repo, follow string) string {
	return "  - name: " + name + "\n    package: {oci: \"" + repo + "\", " + follow + "}\n    target: here\n    with: {greeting: hi}\n"
}

// Publish, promote and consume an OCI package through stable; a re-pushed
// tag is refused; an unreachable registry keeps the unpacked locked
// version.
func TestOCIPackages(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	repo := reg.Repo("ops/greeter")
	cache := t.TempDir()
	r := ociResolver(t, cache, reg.Host)

	rc, err := r.PublishOCI(t.Context(), repo, os.DirFS(greeterDir(t, "v1.0.0-rc.1")), ".", "1.0.0-rc.1")
	if err != nil {
		t.Fatal(err)
	}
	stack := stackOf(t, ociUnit("a", repo, "channel: stable"))
	if _, _, err := r.Update(t.Context(), stack, nil); !errors.As(err, new(*packages.NoVersionError)) {
		t.Fatalf("stable before promotion: err = %v", err)
	}
	st, err := r.PromoteOCI(t.Context(), repo, "1.0.0-rc.1")
	if err != nil || st.Commit != rc.Commit || st.Tag != repo+":v1.0.0" {
		t.Fatalf("promote = %+v, %v (candidate %s)", st, err, rc.Commit)
	}
	lock, _, err := r.Update(t.Context(), stack, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := lock.Entry("a")
	if e.Version != "v1.0.0" || e.Digest != rc.Commit || !strings.HasPrefix(e.Hash, "sha256:") {
		t.Fatalf("locked %+v", e)
	}
	rev := locked(t, lock)
	before := r.Stats().Fetches.Load()
	pkgs, errs := resolve(t, r, rev, stack)
	if errs[0] != nil || pkgs[0].Version != "v1.0.0" || pkgs[0].Manifest.Name != "greeter" || pkgs[0].Revision.Dir == "" {
		t.Fatalf("resolve: %+v, %v", pkgs[0], errs[0])
	}
	if n := r.Stats().Fetches.Load() - before; n != 0 {
		t.Fatalf("resolution of an unchanged lock downloaded %d times", n)
	}

	// The tag is re-pushed with other content: refused, named.
	other := greeterDir(t, "tampered")
	img, err := packages.Artifact(os.DirFS(other), ".")
	if err != nil {
		t.Fatal(err)
	}
	c, _ := registry.New(registry.Options{Insecure: []string{reg.Host}})
	if err := c.Write(t.Context(), repo+":v1.0.0", img); err != nil {
		t.Fatal(err)
	}
	_, errs = resolve(t, ociResolver(t, t.TempDir(), reg.Host), rev, stack)
	var me *packages.MismatchError
	if !errors.As(errs[0], &me) || me.What != "digest" || me.Locked != rc.Commit || !strings.Contains(errs[0].Error(), repo+":v1.0.0 does not match steward.lock") {
		t.Fatalf("re-pushed tag: err = %v", errs[0])
	}
	// Publishing over a version is refused.
	if _, err := r.PublishOCI(t.Context(), repo, os.DirFS(other), ".", "1.0.0-rc.1"); err == nil || !strings.Contains(err.Error(), "never moves") {
		t.Fatalf("publish over a version: %v", err)
	}

	// The registry goes away: the unpacked locked digest is used.
	reg2 := "127.0.0.1:1"
	gone := strings.Replace(string(mustMarshal(t, lock)), reg.Host, reg2, -1)
	lock2, err := packages.ParseLock([]byte(gone))
	if err != nil {
		t.Fatal(err)
	}
	stack2 := stackOf(t, ociUnit("a", reg2+"/ops/greeter", "channel: stable"))
	pkgs, errs = resolve(t, ociResolver(t, cache, reg2), locked(t, lock2), stack2)
	if errs[0] != nil || pkgs[0].Revision.ID != rc.Commit {
		t.Fatalf("unreachable registry with the content unpacked: %+v, %v", pkgs[0], errs[0])
	}
	_, errs = resolve(t, ociResolver(t, t.TempDir(), reg2), locked(t, lock2), stack2)
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "is not unpacked here") {
		t.Fatalf("unreachable and not unpacked: %v", errs[0])
	}
}

func mustMarshal(t *testing.T, l *packages.Lock) []byte {
	t.Helper()
	b, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
