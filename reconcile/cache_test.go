package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
)

// A deeply nested object renders to YAML that grows with the square of its
// depth; its cache entry keeps the objects only, not that YAML.
func TestCacheEntryOfDeepNesting(t *testing.T) {
	const depth = 3000
	deep := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata: {v: \"1\"}\nnest: " +
		strings.Repeat("{a: ", depth) + "x" + strings.Repeat("}", depth) + "\n"
	tree := fstest.MapFS{
		"steward.yaml":  {Data: []byte(twoUnits)},
		"apps/a/x.yaml": {Data: []byte(deep)},
		"apps/b/y.yaml": {Data: []byte(cm("b", "1"))},
	}
	dir := t.TempDir()
	calls := &atomic.Int32{}
	first := renderStack(t, tree, NewCache(dir, "test"), calls)
	if first[0].Err != nil || len(first[0].YAML) != 1 || len(first[0].YAML[0]) < 4<<20 {
		t.Fatalf("first render: %v, YAML of %d objects", first[0].Err, len(first[0].YAML))
	}
	var total int64
	must(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			total += fi.Size()
		}
		return err
	}))
	if total > 1<<20 {
		t.Fatalf("cache holds %d bytes for %d bytes of input", total, len(deep))
	}
	again := renderStack(t, tree, NewCache(dir, "test"), calls)
	if !again[0].Cached || again[0].YAML != nil || HashObjects(again[0].Objects) != HashObjects(first[0].Objects) {
		t.Fatalf("from disk: cached=%v yaml=%d", again[0].Cached, len(again[0].YAML))
	}
	if calls.Load() != 2 {
		t.Fatalf("generated %d times, want 2 (once per unit)", calls.Load())
	}
}

// A unit's hash comes with its cached objects, also from an entry an older
// build stored on disk without one.
func TestCacheKeepsTheHash(t *testing.T) {
	tree := fstest.MapFS{
		"steward.yaml":  {Data: []byte(twoUnits)},
		"apps/a/x.yaml": {Data: []byte(cm("a", "1"))},
		"apps/b/y.yaml": {Data: []byte(cm("b", "1"))},
	}
	dir := t.TempDir()
	calls := &atomic.Int32{}
	first := renderStack(t, tree, NewCache(dir, "test"), calls)
	for _, r := range first {
		if r.Err != nil || r.Hash != HashObjects(r.Objects) {
			t.Fatalf("%s generated: hash %q, %v", r.Unit.Name, r.Hash, r.Err)
		}
	}
	again := renderStack(t, tree, NewCache(dir, "test"), calls)
	// Strip the hashes, as an older build stored the entries.
	must(t, filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		i := strings.Index(string(data), `,"hash":`)
		if i < 0 {
			t.Fatalf("%s: no hash stored", p)
		}
		return os.WriteFile(p, append(data[:i:i], '}'), 0o644)
	}))
	old := renderStack(t, tree, NewCache(dir, "test"), calls)
	for i := range first {
		if !again[i].Cached || again[i].Hash != first[i].Hash || !old[i].Cached || old[i].Hash != first[i].Hash {
			t.Errorf("%s: cached %v/%v, hash %q and %q, want %q", first[i].Unit.Name, again[i].Cached, old[i].Cached, again[i].Hash, old[i].Hash, first[i].Hash)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("generated %d times, want 2 (once per unit)", calls.Load())
	}
}

// Without KeepYAML (the daemon) nothing is rendered to YAML: neither the
// result nor the cache entry, in memory or on disk, holds any; an entry a
// build stored with YAML loses it from memory once the daemon reads it.
func TestCacheWithoutYAML(t *testing.T) {
	tree := fstest.MapFS{
		"steward.yaml":  {Data: []byte(twoUnits)},
		"apps/a/x.yaml": {Data: []byte(cm("a", "1"))},
		"apps/b/y.yaml": {Data: []byte(cm("b", "1"))},
	}
	dir := t.TempDir()
	calls := &atomic.Int32{}
	cache := NewCache(dir, "test")
	for _, pass := range []string{"generated", "cached"} {
		for _, r := range renderStackWith(t, tree, cache, calls, false) {
			if r.Err != nil || r.YAML != nil || len(r.Objects) != 1 {
				t.Fatalf("%s %s: %v, YAML of %d objects", pass, r.Unit.Name, r.Err, len(r.YAML))
			}
		}
	}
	for key, e := range cache.mem {
		if e.YAML != nil {
			t.Errorf("entry %s keeps YAML", key)
		}
		data, err := os.ReadFile(cache.path(key))
		must(t, err)
		if strings.Contains(string(data), "apiVersion: v1") {
			t.Errorf("entry %s on disk holds YAML: %s", key, data)
		}
	}
	built := NewCache(t.TempDir(), "test")
	renderStack(t, tree, built, calls)
	renderStackWith(t, tree, built, calls, false)
	for key, e := range built.mem {
		if e.YAML != nil {
			t.Errorf("entry %s stored by a build keeps its YAML after a render without", key)
		}
	}
	if calls.Load() != 4 {
		t.Fatalf("generated %d times, want 4 (once per unit and cache)", calls.Load())
	}
}
