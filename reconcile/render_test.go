package reconcile

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"
)

// fileGenerator is a minimal generator for testing the renderer: it decodes
// every .yaml file of the unit's directory plus, when the directory holds a
// file named "base", the files of the directory that file names (the way a
// kustomization reaches a base outside the unit's path).
type fileGenerator struct{ calls *atomic.Int32 }

func (g fileGenerator) Generate(_ context.Context, req GenerateRequest) ([]*Object, error) {
	g.calls.Add(1)
	dirs := []string{req.Dir}
	if b, err := fs.ReadFile(req.Tree, path.Join(req.Dir, "base")); err == nil {
		dirs = append(dirs, path.Join(req.Dir, strings.TrimSpace(string(b))))
	}
	var out []*Object
	for _, d := range dirs {
		entries, err := fs.ReadDir(req.Tree, d)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".yaml") {
				continue
			}
			data, err := fs.ReadFile(req.Tree, path.Join(d, e.Name()))
			if err != nil {
				return nil, err
			}
			objs, err := DecodeObjects(data, path.Join(d, e.Name()))
			if err != nil {
				return nil, err
			}
			out = append(out, objs...)
		}
	}
	return out, nil
}

func cm(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {v: \"" + value + "\"}\n"
}

// renderStack renders every unit of tree through cache as build does,
// keeping each object's YAML.
func renderStack(t *testing.T, tree fstest.MapFS, cache *Cache, calls *atomic.Int32) []Rendered {
	t.Helper()
	return renderStackWith(t, tree, cache, calls, true)
}

func renderStackWith(t *testing.T, tree fstest.MapFS, cache *Cache, calls *atomic.Int32, keepYAML bool) []Rendered {
	t.Helper()
	s, err := LoadStack(tree)
	must(t, err)
	units, err := s.Select(nil)
	must(t, err)
	opts := DefaultRenderOptions()
	opts.Generators = func(*Unit) (Generator, error) { return fileGenerator{calls}, nil }
	opts.Cache = cache
	opts.KeepYAML = keepYAML
	return NewRenderer(opts).Render(context.Background(), &Revision{ID: "r1", Tree: tree}, units)
}

const twoUnits = `apiVersion: steward.dev/v1
kind: Stack
targets: {t: {local: {root: out}}}
units:
  - {name: a, path: apps/a, generator: {yaml: {}}, target: t}
  - {name: b, path: apps/b, generator: {yaml: {}}, target: t}
`

func TestRenderCache(t *testing.T) {
	tree := fstest.MapFS{
		"steward.yaml":     {Data: []byte(twoUnits)},
		"apps/a/x.yaml":    {Data: []byte(cm("a", "1"))},
		"apps/a/base":      {Data: []byte("../../base\n")},
		"base/shared.yaml": {Data: []byte(cm("shared", "1"))},
		"apps/b/y.yaml":    {Data: []byte(cm("b", "1"))},
	}
	dir := t.TempDir()
	calls := &atomic.Int32{}
	cache := NewCache(dir, "test")
	step := func(name string, c *Cache, wantCalls int32, wantCached ...bool) {
		t.Helper()
		calls.Store(0)
		res := renderStack(t, tree, c, calls)
		for i, r := range res {
			if r.Err != nil {
				t.Fatalf("%s: %v", name, r.Err)
			}
			if r.Cached != wantCached[i] {
				t.Errorf("%s: unit %s cached=%v, want %v", name, r.Unit.Name, r.Cached, wantCached[i])
			}
		}
		if got := calls.Load(); got != wantCalls {
			t.Errorf("%s: generator ran %d times, want %d", name, got, wantCalls)
		}
	}
	step("cold", cache, 2, false, false)
	step("unchanged", cache, 0, true, true)
	tree["apps/b/y.yaml"] = &fstest.MapFile{Data: []byte(cm("b", "2"))}
	step("b changed", cache, 1, true, false)
	tree["base/shared.yaml"] = &fstest.MapFile{Data: []byte(cm("shared", "2"))}
	step("a's base outside its path changed", cache, 1, false, true)
	tree["apps/a/new.yaml"] = &fstest.MapFile{Data: []byte(cm("new", "1"))}
	step("file added to a", cache, 1, false, true)
	tree["base/unrelated.txt"] = &fstest.MapFile{Data: []byte("x")}
	step("non-yaml file in a's base listing", cache, 1, false, true)
	step("from disk in a new process", NewCache(dir, "test"), 0, true, true)
	step("another steward version", NewCache(dir, "other"), 2, false, false)

	res := renderStack(t, tree, NewCache(dir, "test"), calls)
	names := []string{}
	for _, o := range res[0].Objects {
		names = append(names, o.GetName())
	}
	if strings.Join(names, ",") != "a,new,shared" {
		t.Fatalf("unit a objects = %v", names)
	}
	if got := res[0].Objects[2].Object["data"].(map[string]any)["v"]; got != "2" {
		t.Fatalf("cached object content = %v, want the regenerated value", got)
	}
}

func TestRenderNonHermeticCommandNotCached(t *testing.T) {
	tree := fstest.MapFS{
		"steward.yaml":  {Data: []byte(strings.Replace(twoUnits, "generator: {yaml: {}}, target: t}\n  - {name: b", "generator: {command: {run: [gen]}}, target: t}\n  - {name: b", 1))},
		"apps/a/x.yaml": {Data: []byte(cm("a", "1"))},
		"apps/b/y.yaml": {Data: []byte(cm("b", "1"))},
	}
	calls := &atomic.Int32{}
	cache := NewCache("", "test")
	renderStack(t, tree, cache, calls)
	calls.Store(0)
	res := renderStack(t, tree, cache, calls)
	if res[0].Cached || !res[1].Cached || calls.Load() != 1 {
		t.Fatalf("command unit cached=%v, yaml unit cached=%v, calls=%d", res[0].Cached, res[1].Cached, calls.Load())
	}
}

func TestRenderErrorsAndConflicts(t *testing.T) {
	tree := fstest.MapFS{
		"steward.yaml":  {Data: []byte(twoUnits)},
		"apps/a/x.yaml": {Data: []byte(cm("same", "1") + "---\n" + cm("same", "2"))},
		"apps/b/y.yaml": {Data: []byte(cm("b", "1") + "---\nkind: [\n")},
	}
	res := renderStack(t, tree, nil, &atomic.Int32{})
	var dup *DuplicateError
	if !errors.As(res[0].Err, &dup) || !strings.Contains(res[0].Err.Error(), "unit a: duplicate object ConfigMap/same") {
		t.Fatalf("unit a error = %v", res[0].Err)
	}
	if res[1].Err == nil || !strings.Contains(res[1].Err.Error(), "unit b: apps/b/y.yaml:6: ") {
		t.Fatalf("unit b error = %v", res[1].Err)
	}

	tree["apps/a/x.yaml"] = &fstest.MapFile{Data: []byte(cm("b", "1"))}
	tree["apps/b/y.yaml"] = &fstest.MapFile{Data: []byte(cm("b", "2"))}
	err := Conflicts(renderStack(t, tree, nil, &atomic.Int32{}))
	if err == nil || err.Error() != "ConfigMap/b is written by units a and b to target t" {
		t.Fatalf("conflict error = %v", err)
	}
}

// TestRenderCacheOnDisk covers the stat-stamp path a disk checkout takes:
// unchanged entries are trusted by their stamps, any change is seen.
func TestRenderCacheOnDisk(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"steward.yaml":     twoUnits,
		"apps/a/x.yaml":    cm("a", "1"),
		"apps/a/base":      "../../base\n",
		"base/shared.yaml": cm("shared", "1"),
		"apps/b/y.yaml":    cm("b", "1"),
	}
	old := time.Now().Add(-time.Hour)
	for name, content := range files {
		p := filepath.Join(dir, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
	// Backdate everything past the racy window, so stamps are recorded.
	must(t, filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		must(t, err)
		return os.Chtimes(p, old, old)
	}))
	root, err := os.OpenRoot(dir)
	must(t, err)
	defer root.Close()
	calls := &atomic.Int32{}
	cache := NewCache(t.TempDir(), "test")
	render := func() []Rendered {
		calls.Store(0)
		s, err := LoadStack(root.FS())
		must(t, err)
		units, _ := s.Select(nil)
		opts := DefaultRenderOptions()
		opts.Generators = func(*Unit) (Generator, error) { return fileGenerator{calls}, nil }
		opts.Cache = cache
		return NewRenderer(opts).Render(context.Background(), &Revision{Tree: root.FS(), Dir: dir}, units)
	}
	render()
	if res := render(); calls.Load() != 0 || !res[0].Cached {
		t.Fatalf("unchanged disk tree regenerated %d units", calls.Load())
	}
	must(t, os.WriteFile(filepath.Join(dir, "base/shared.yaml"), []byte(cm("shared", "2")), 0o644))
	if res := render(); calls.Load() != 1 || res[0].Cached || !res[1].Cached {
		t.Fatalf("changed base file: %d regenerated (a cached=%v, b cached=%v)", calls.Load(), res[0].Cached, res[1].Cached)
	}
	must(t, os.WriteFile(filepath.Join(dir, "apps/b/z.yaml"), []byte(cm("z", "1")), 0o644))
	if res := render(); calls.Load() != 1 || res[1].Cached || len(res[1].Objects) != 2 {
		t.Fatalf("file added to b: %d regenerated, b has %d objects", calls.Load(), len(res[1].Objects))
	}
}

// TestCacheKeepsLargeIntegers: objects read back from the disk cache keep
// integers past 2^53 exactly (and floats as floats).
func TestCacheKeepsLargeIntegers(t *testing.T) {
	tree := fstest.MapFS{
		"steward.yaml":  {Data: []byte(twoUnits)},
		"apps/a/x.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nbig: 9007199254740993\nratio: 0.5\n")},
		"apps/b/y.yaml": {Data: []byte(cm("b", "1"))},
	}
	dir := t.TempDir()
	renderStack(t, tree, NewCache(dir, "test"), &atomic.Int32{})
	res := renderStack(t, tree, NewCache(dir, "test"), &atomic.Int32{}) // a new process: from disk
	if !res[0].Cached {
		t.Fatal("not read from the cache")
	}
	o := res[0].Objects[0].Object
	if o["big"] != int64(9007199254740993) || o["ratio"] != 0.5 {
		t.Fatalf("big = %#v, ratio = %#v after the disk cache", o["big"], o["ratio"])
	}
}
