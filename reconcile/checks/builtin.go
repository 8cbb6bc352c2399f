package checks

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
)

//go:embed schemas.json.gz
var schemasGz []byte

// objectMetaDef names the definition of metadata, used for custom resources
// and embedded resources.
const objectMetaDef = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

// quantityDef is resource.Quantity, checked by parsing rather than by schema.
const quantityDef = "io.k8s.apimachinery.pkg.api.resource.Quantity"

// builtinSet is the embedded schema set. It is decoded on first use; each
// definition is compiled only when a kind that needs it is first checked,
// and kept.
type builtinSet struct {
	load sync.Once
	err  error

	version string
	kinds   map[string]string          // "apiVersion Kind" -> definition
	defs    map[string]json.RawMessage // reduced definitions, not yet compiled
	groups  map[string]bool            // API groups of the built-in kinds ("" is core)

	mu       sync.RWMutex
	compiled map[string]*schema // by definition name
}

var builtins = &builtinSet{}

func (b *builtinSet) init() error {
	b.load.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(schemasGz))
		if err != nil {
			b.err = fmt.Errorf("read embedded schemas: %w", err)
			return
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			b.err = fmt.Errorf("read embedded schemas: %w", err)
			return
		}
		var set struct {
			Version string                     `json:"version"`
			Kinds   map[string]string          `json:"kinds"`
			Defs    map[string]json.RawMessage `json:"defs"`
		}
		if err := json.Unmarshal(raw, &set); err != nil {
			b.err = fmt.Errorf("decode embedded schemas: %w", err)
			return
		}
		b.version, b.kinds, b.defs = set.Version, set.Kinds, set.Defs
		b.groups = map[string]bool{}
		for k := range b.kinds {
			av, _, _ := strings.Cut(k, " ")
			b.groups[groupOf(av)] = true
		}
		b.compiled = map[string]*schema{}
	})
	return b.err
}

// KubernetesVersion is the Kubernetes release whose built-in schemas are
// embedded, e.g. "v1.37.0".
func KubernetesVersion() string {
	if builtins.init() != nil {
		return ""
	}
	return builtins.version
}

// lookup returns the schema of a built-in kind; known reports whether the
// kind's API group is a built-in one at all.
func (b *builtinSet) lookup(apiVersion, kind string) (s *schema, known bool, err error) {
	if err := b.init(); err != nil {
		return nil, false, err
	}
	def, ok := b.kinds[apiVersion+" "+kind]
	if !ok {
		g := groupOf(apiVersion)
		return nil, b.groups[g] || removedGroups[g], nil
	}
	s, err = b.definition(def)
	return s, true, err
}

// definition compiles a definition (and what it references) once.
func (b *builtinSet) definition(name string) (*schema, error) {
	if err := b.init(); err != nil {
		return nil, err
	}
	b.mu.RLock()
	s, ok := b.compiled[name]
	b.mu.RUnlock()
	if ok {
		return s, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.compileLocked(name)
}

func (b *builtinSet) compileLocked(name string) (*schema, error) {
	if s, ok := b.compiled[name]; ok {
		return s, nil
	}
	raw, ok := b.defs[name]
	if !ok {
		return nil, fmt.Errorf("embedded schemas: no definition %s", name)
	}
	var tree any
	if err := json.Unmarshal(raw, &tree); err != nil {
		return nil, fmt.Errorf("embedded schema %s: %w", name, err)
	}
	// Recursive definitions (JSONSchemaProps) reach themselves: publish a
	// placeholder first and fill it in place.
	s := &schema{}
	b.compiled[name] = s
	c := &compiler{resolve: b.compileLocked}
	got, err := c.compile(tree, name)
	if err != nil {
		delete(b.compiled, name)
		return nil, err
	}
	*s = *got
	if name == quantityDef {
		s.quantity, s.oneOf = true, nil
	}
	return s, nil
}

func groupOf(apiVersion string) string {
	g, _, ok := strings.Cut(apiVersion, "/")
	if !ok {
		return ""
	}
	return g
}
