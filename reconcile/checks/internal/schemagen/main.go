// Command schemagen writes the compact schema set embedded by package checks:
// the OpenAPI v3 schemas of every built-in kind of one Kubernetes release,
// reduced to the keywords validation uses and gzipped.
//
// It reads api/openapi-spec/v3/*.json of the k8s.io/kubernetes module, which
// is not a dependency of steward: schemagen asks the go command to download it
// into the module cache (outside any module, so go.mod is left alone). To move
// to another release, change the version in ../../generate.go and run
//
//	go generate ./reconcile/checks
//
// The output is deterministic: the same spec gives the same bytes.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
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

func main() {
	version := flag.String("version", "", "k8s.io/kubernetes module version, e.g. v1.37.0")
	dir := flag.String("dir", "", "module directory (default: go mod download the version)")
	out := flag.String("o", "schemas.json.gz", "output file")
	flag.Parse()
	if *version == "" {
		log.Fatal("schemagen: -version is required")
	}
	if *dir == "" {
		d, err := download(*version)
		if err != nil {
			log.Fatalf("schemagen: %v", err)
		}
		*dir = d
	}
	set, err := build(filepath.Join(*dir, "api", "openapi-spec", "v3"), *version)
	if err != nil {
		log.Fatalf("schemagen: %v", err)
	}
	data, err := encode(set)
	if err != nil {
		log.Fatalf("schemagen: %v", err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		log.Fatalf("schemagen: %v", err)
	}
	log.Printf("schemagen: %d kinds, %d definitions, %d bytes", len(set.Kinds), len(set.Defs), len(data))
}

// download fetches the module into the module cache and returns its
// directory. It runs outside any module so no go.mod is touched.
func download(version string) (string, error) {
	tmp, err := os.MkdirTemp("", "schemagen")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "mod", "download", "-json", "k8s.io/kubernetes@"+version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download: %w", err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(b, &info); err != nil {
		return "", fmt.Errorf("go mod download: %w", err)
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download: %s", info.Error)
	}
	return info.Dir, nil
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
