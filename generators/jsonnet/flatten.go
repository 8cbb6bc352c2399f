package jsonnet

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

// flatten walks a decoded jsonnet output and returns its Kubernetes-shaped
// leaves. json.Number values become int64 or float64.
func flatten(v any) ([]*reconcile.Object, error) {
	var objs []*reconcile.Object
	err := walk(v, "", &objs)
	return objs, err
}

func walk(v any, at string, objs *[]*reconcile.Object) error {
	switch x := v.(type) {
	case nil:
		return nil
	case map[string]any:
		if isObject(x) {
			return leaf(x, at, objs)
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if err := walk(x[k], at+field(k), objs); err != nil {
				return err
			}
		}
		return nil
	case []any:
		for i, e := range x {
			if err := walk(e, fmt.Sprintf("%s[%d]", at, i), objs); err != nil {
				return err
			}
		}
		return nil
	default:
		return fmt.Errorf("output %s is a %s, not an object: want Kubernetes objects (apiVersion, kind) or objects and arrays of them", where(at), typeName(v))
	}
}

// isObject reports whether m is meant as a Kubernetes object rather than a
// branch of the tree.
func isObject(m map[string]any) bool {
	_, a := m["apiVersion"]
	_, k := m["kind"]
	return a || k
}

// leaf checks and converts one object; a List becomes its items.
func leaf(m map[string]any, at string, objs *[]*reconcile.Object) error {
	kind, _ := m["kind"].(string)
	if items, ok := m["items"].([]any); ok && strings.HasSuffix(kind, "List") {
		for i, it := range items {
			im, ok := it.(map[string]any)
			if !ok {
				return fmt.Errorf("output %s.items[%d] is a %s, not an object", where(at), i, typeName(it))
			}
			if err := leaf(im, fmt.Sprintf("%s.items[%d]", at, i), objs); err != nil {
				return err
			}
		}
		return nil
	}
	o := &reconcile.Object{Object: reconcile.JSONNumbers(m).(map[string]any)}
	switch {
	case o.GetAPIVersion() == "":
		return fmt.Errorf("object at %s has no apiVersion: %w", where(at), reconcile.ErrMissingField)
	case o.GetKind() == "":
		return fmt.Errorf("object at %s has no kind: %w", where(at), reconcile.ErrMissingField)
	case o.GetName() == "":
		return fmt.Errorf("%s at %s has no metadata.name: %w", o.GetKind(), where(at), reconcile.ErrMissingField)
	}
	*objs = append(*objs, o)
	return nil
}

var ident = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// field renders a path step the way jsonnet would write it.
func field(k string) string {
	if ident.MatchString(k) {
		return "." + k
	}
	return fmt.Sprintf("[%q]", k)
}

func where(at string) string {
	if at == "" {
		return "(top level)"
	}
	return at
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number, float64, int64:
		return "number"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}
