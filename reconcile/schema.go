package reconcile

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
)

// StackSchema returns the JSON Schema of steward.yaml, derived from the same
// struct tags the strict decoder uses, so the two cannot drift apart. The
// checked-in docs/steward.schema.json is kept equal to it by a test.
func StackSchema() ([]byte, error) {
	defs := map[string]any{}
	root := schemaOf(reflect.TypeFor[Stack](), defs)
	doc := map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         "https://steward.dev/schemas/steward.schema.json",
		"title":       "steward stack file (steward.yaml)",
		"$defs":       defs,
		"$ref":        root["$ref"],
		"description": "apiVersion steward.dev/v1, kind Stack",
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

var (
	durationType     = reflect.TypeFor[Duration]()
	intOrPercentType = reflect.TypeFor[IntOrPercent]()
	textMarshaler    = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func schemaOf(t reflect.Type, defs map[string]any) map[string]any {
	switch t {
	case durationType:
		return map[string]any{"type": "string", "pattern": `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`, "description": "a duration such as 30s, 5m, 1h30m"}
	case intOrPercentType:
		return map[string]any{"oneOf": []any{
			map[string]any{"type": "integer", "minimum": 0},
			map[string]any{"type": "string", "pattern": `^[0-9]+%?$`},
		}}
	}
	if reflect.PointerTo(t).Implements(textMarshaler) {
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return schemaOf(t.Elem(), defs)
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), defs)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), defs)}
	case reflect.Struct:
		name := t.Name()
		ref := map[string]any{"$ref": "#/$defs/" + name}
		if _, done := defs[name]; done {
			return ref
		}
		defs[name] = nil // placeholder against recursion
		props := map[string]any{}
		var required []string
		for i := range t.NumField() {
			f := t.Field(i)
			key := yamlName(f)
			if key == "" {
				continue
			}
			p := schemaOf(f.Type, defs)
			if doc := f.Tag.Get("doc"); doc != "" {
				p = withDescription(p, doc)
			}
			props[key] = p
			if !strings.Contains(f.Tag.Get("yaml"), "omitempty") {
				required = append(required, key)
			}
		}
		def := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			def["required"] = required
		}
		defs[name] = def
		return ref
	}
	return map[string]any{}
}

func withDescription(s map[string]any, doc string) map[string]any {
	if _, isRef := s["$ref"]; isRef {
		return map[string]any{"allOf": []any{s}, "description": doc}
	}
	out := make(map[string]any, len(s)+1)
	for k, v := range s {
		out[k] = v
	}
	out["description"] = doc
	return out
}
