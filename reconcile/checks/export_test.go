package checks

import (
	"encoding/json"
	"fmt"
)

// ExpandedSchema returns the embedded schema of a built-in kind with every
// $ref inlined (a recursive reference becomes {}), as JSON: the form
// k8s.io/kube-openapi's validate package, which resolves no references,
// needs. The benchmark uses it to run that validator side by side.
func ExpandedSchema(apiVersion, kind string) ([]byte, error) {
	if err := builtins.init(); err != nil {
		return nil, err
	}
	name, ok := builtins.kinds[apiVersion+" "+kind]
	if !ok {
		return nil, fmt.Errorf("no built-in kind %s %s", apiVersion, kind)
	}
	tree, err := expand(name, map[string]bool{})
	if err != nil {
		return nil, err
	}
	return json.Marshal(tree)
}

func expand(name string, onStack map[string]bool) (any, error) {
	if onStack[name] {
		return map[string]any{}, nil
	}
	var tree any
	if err := json.Unmarshal(builtins.defs[name], &tree); err != nil {
		return nil, err
	}
	onStack[name] = true
	defer delete(onStack, name)
	return inline(tree, onStack)
}

func inline(v any, onStack map[string]bool) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		if ref, ok := t["$ref"].(string); ok {
			return expand(ref, onStack)
		}
		for k, val := range t {
			if k == "enum" || k == "required" {
				continue
			}
			x, err := inline(val, onStack)
			if err != nil {
				return nil, err
			}
			t[k] = x
		}
	case []any:
		for i, val := range t {
			x, err := inline(val, onStack)
			if err != nil {
				return nil, err
			}
			t[i] = x
		}
	}
	return v, nil
}
