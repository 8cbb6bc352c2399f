// Package schemaset builds the compact schema set package checks embeds:
// the OpenAPI v3 schemas of every built-in kind of one Kubernetes release,
// reduced to the keywords validation uses, with references as bare
// definition names, gzipped. cmd schemagen (../schemagen) writes it.
package schemaset

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
)

// keep lists the schema keywords validation uses; every other keyword
// (descriptions, defaults, patch strategies) is dropped.
var keep = map[string]bool{
	"type": true, "format": true, "properties": true, "additionalProperties": true,
	"items": true, "required": true, "$ref": true, "allOf": true, "oneOf": true,
	"anyOf": true, "enum": true, "nullable": true,
	"x-kubernetes-int-or-string":           true,
	"x-kubernetes-preserve-unknown-fields": true,
	"x-kubernetes-embedded-resource":       true,
}

const refPrefix = "#/components/schemas/"

// Set is the file format read by package checks.
type Set struct {
	// Version is the Kubernetes release the schemas come from.
	Version string `json:"version"`
	// Kinds maps "apiVersion Kind" to the name of its definition.
	Kinds map[string]string `json:"kinds"`
	// Defs are the reduced definitions by name; $ref values are bare names.
	Defs map[string]json.RawMessage `json:"defs"`
}

// Build reads the OpenAPI v3 files of a Kubernetes source tree
// (api/openapi-spec/v3 under specDir) and returns the gzipped, reduced set.
// The result is deterministic.
func Build(specDir, version string) ([]byte, error) {
	set, err := build(specDir, version)
	if err != nil {
		return nil, err
	}
	return encode(set)
}

func build(specDir, version string) (*Set, error) {
	files, err := filepath.Glob(filepath.Join(specDir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no OpenAPI v3 files in %s", specDir)
	}
	sort.Strings(files)
	set := &Set{Version: version, Kinds: map[string]string{}, Defs: map[string]json.RawMessage{}}
	defs := map[string]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var doc struct {
			Components struct {
				Schemas map[string]map[string]any `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
		for name, s := range doc.Components.Schemas {
			for _, gvk := range gvks(s) {
				// meta/v1 types (DeleteOptions, Status, WatchEvent) are listed
				// under every group but are never applied.
				if strings.HasPrefix(name, "io.k8s.apimachinery.pkg.apis.meta.") {
					continue
				}
				if prev, ok := set.Kinds[gvk]; ok && prev != name {
					return nil, fmt.Errorf("%s: kind %s is both %s and %s", filepath.Base(f), gvk, prev, name)
				}
				set.Kinds[gvk] = name
			}
			r := reduce(s)
			if prev, ok := defs[name]; ok && !reflect.DeepEqual(prev, r) {
				return nil, fmt.Errorf("%s: definition %s differs between files", filepath.Base(f), name)
			}
			defs[name] = r
		}
	}
	for name, d := range defs {
		b, err := json.Marshal(d) // map keys are sorted: deterministic
		if err != nil {
			return nil, err
		}
		set.Defs[name] = b
	}
	return set, nil
}

func gvks(s map[string]any) []string {
	list, _ := s["x-kubernetes-group-version-kind"].([]any)
	var out []string
	for _, it := range list {
		m, _ := it.(map[string]any)
		g, _ := m["group"].(string)
		v, _ := m["version"].(string)
		k, _ := m["kind"].(string)
		av := v
		if g != "" {
			av = g + "/" + v
		}
		out = append(out, av+" "+k)
	}
	return out
}

// reduce keeps the validation keywords of a schema, recursively, turns
// references into bare names and unwraps {allOf: [{$ref}]}.
func reduce(v any) any {
	s, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, val := range s {
		if !keep[k] {
			continue
		}
		switch k {
		case "$ref":
			out[k] = strings.TrimPrefix(val.(string), refPrefix)
		case "properties":
			props := map[string]any{}
			for name, p := range val.(map[string]any) {
				props[name] = reduce(p)
			}
			out[k] = props
		case "items", "additionalProperties":
			out[k] = reduce(val)
		case "allOf", "oneOf", "anyOf":
			var list []any
			for _, it := range val.([]any) {
				list = append(list, reduce(it))
			}
			out[k] = list
		default:
			out[k] = val
		}
	}
	if all, ok := out["allOf"].([]any); ok && len(all) == 1 {
		if ref, ok := all[0].(map[string]any); ok && len(ref) == 1 && ref["$ref"] != nil {
			delete(out, "allOf")
			out["$ref"] = ref["$ref"]
		}
	}
	return out
}

func encode(set *Set) ([]byte, error) {
	raw, err := json.Marshal(set)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
