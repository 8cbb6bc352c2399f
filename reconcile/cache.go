package reconcile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Cache keeps generated objects keyed by a unit's configuration and
// validated against the digests of every input the generation read, so an
// unchanged unit of a changed monorepo is not generated again. Entries live
// in memory and, when a directory is given, on disk.
type Cache struct {
	dir     string
	version string
	mu      sync.Mutex
	mem     map[string]*cacheEntry
}

type cacheEntry struct {
	Inputs  []input          `json:"inputs"`
	Objects []map[string]any `json:"objects"`
	YAML    []string         `json:"yaml"` // each object as MarshalObject renders it
	// Hash is HashObjects of the objects, computed once when stored (or
	// loaded without one): a new revision reuses it rather than encoding
	// every unchanged object again.
	Hash string `json:"hash,omitempty"`
	// Decrypted names the SOPS files the generation decrypted; such an
	// entry lives in memory only.
	Decrypted []string `json:"-"`
}

// NewCache returns a cache stored under dir ("" keeps it in memory only).
// version separates entries of different steward builds.
func NewCache(dir, version string) *Cache {
	return &Cache{dir: dir, version: version, mem: map[string]*cacheEntry{}}
}

// cacheable reports whether u's generation may be cached: everything but a
// command generator that does not declare itself hermetic.
func cacheable(u *Unit) bool {
	return u.Generator.Command == nil || u.Generator.Command.Hermetic
}

// key hashes what determines a unit's output besides its input files.
func (c *Cache) key(u *Unit, in Inputs) string {
	cfg, _ := json.Marshal(struct {
		V          string
		Name, Path string
		Namespace  string
		Target     string
		Generator  GeneratorSpec
		ExtraPaths []string
		Inputs     string         `json:",omitempty"`
		Params     map[string]any `json:",omitempty"`
	}{c.version, u.Name, u.Path, u.EffectiveNamespace(), u.Target, u.Generator, u.ExtraPaths, in.Digest(), u.Params()})
	sum := sha256.Sum256(cfg)
	return hex.EncodeToString(sum[:])
}

// lookup returns the cached objects of u (their YAML when yaml and the
// entry has it, their digest, and the SOPS files the generation decrypted)
// when every recorded input is unchanged in rev. The objects are the cache's own, not copies (see
// Rendered): a daemon of 10 000 units keeps one copy of its 40 000 objects,
// not two.
func (c *Cache) lookup(u *Unit, in Inputs, rev *Revision, yaml bool) ([]*Object, [][]byte, string, []string, bool) {
	key := c.key(u, in)
	c.mu.Lock()
	e := c.mem[key]
	c.mu.Unlock()
	if e == nil {
		e = c.load(key)
	}
	if e == nil {
		return nil, nil, "", nil, false
	}
	for _, in := range e.Inputs {
		if !in.unchanged(rev.Tree, rev.Dir) {
			return nil, nil, "", nil, false
		}
	}
	objs := make([]*Object, len(e.Objects))
	for i, m := range e.Objects {
		objs[i] = &Object{Object: m}
	}
	c.mu.Lock()
	var ys [][]byte
	if !yaml {
		e.YAML = nil // an entry loaded from the disk: not kept in memory unused
	} else if len(e.YAML) == len(objs) {
		ys = make([][]byte, len(objs))
		for i, y := range e.YAML {
			ys[i] = []byte(y)
		}
	}
	hash := e.Hash
	c.mu.Unlock()
	if hash == "" { // an entry stored on disk by an older build
		hash = HashObjects(objs)
		c.mu.Lock()
		e.Hash = hash
		c.mu.Unlock()
	}
	return objs, ys, hash, e.Decrypted, true
}

// store keeps objs (with yaml their YAML, which it returns, and hash,
// their HashObjects) for u. It keeps the objects themselves: they are read-only
// from here on (see Rendered). A generation that decrypted SOPS files
// (decrypted) is kept in memory only: nothing decrypted is written to the
// disk.
func (c *Cache) store(u *Unit, in Inputs, inputs []input, objs []*Object, hash string, decrypted []string, yaml bool) [][]byte {
	e := &cacheEntry{Inputs: inputs, Objects: make([]map[string]any, len(objs)), Hash: hash, Decrypted: decrypted}
	for i, o := range objs {
		e.Objects[i] = o.Object
	}
	var ys [][]byte
	if yaml {
		e.YAML, ys = make([]string, len(objs)), make([][]byte, len(objs))
		for i, o := range objs {
			y, err := MarshalObject(o)
			if err != nil {
				return nil // not cacheable; the caller reports the render error when printing
			}
			e.YAML[i], ys[i] = string(y), y
		}
		if ballooned(objs, ys) {
			e.YAML = nil // rendered again when printed
		}
	}
	key := c.key(u, in)
	c.mu.Lock()
	c.mem[key] = e
	c.mu.Unlock()
	if c.dir != "" && len(decrypted) == 0 {
		// A cache that cannot be written only costs time; generation goes on.
		_ = c.save(key, e)
	}
	return ys
}

// ballooned reports whether the YAML of objs is far larger than the objects
// themselves: YAML indents every level, so a deeply nested object's YAML
// grows with the square of its depth (32 KB of nesting renders to 62 MB).
// Such an entry keeps no YAML.
func ballooned(objs []*Object, ys [][]byte) bool {
	const small = 1 << 20
	for i, y := range ys {
		if len(y) <= small {
			continue
		}
		j, err := json.Marshal(objs[i].Object)
		if err != nil || len(y) > 4*len(j)+small {
			return true
		}
	}
	return false
}

func (c *Cache) path(key string) string { return filepath.Join(c.dir, key[:2], key+".json") }

func (c *Cache) load(key string) *cacheEntry {
	if c.dir == "" {
		return nil
	}
	data, err := os.ReadFile(c.path(key))
	if err != nil {
		return nil
	}
	var e cacheEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return nil
	}
	for i, m := range e.Objects {
		e.Objects[i] = JSONNumbers(m).(map[string]any)
	}
	c.mu.Lock()
	c.mem[key] = &e
	c.mu.Unlock()
	return &e
}

func (c *Cache) save(key string, e *cacheEntry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".entry-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("cache entry: %w", err)
	}
	return nil
}

// JSONNumbers turns the json.Number values a decoder with UseNumber
// produces into what unstructured objects hold: int64 for integers (exact,
// also past 2^53), float64 otherwise. It converts in place and returns v.
func JSONNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = JSONNumbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = JSONNumbers(e)
		}
		return x
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	}
	return v
}
