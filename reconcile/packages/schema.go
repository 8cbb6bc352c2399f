package packages

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Schema is a package's parameters schema, compiled.
type Schema struct {
	raw map[string]any
	sch *jsonschema.Schema
}

// Violation is one way parameters fail the schema.
type Violation struct {
	// Instance is the JSON pointer of the failing value ("/replicas", ""
	// for the whole parameter set).
	Instance []string
	// Keyword is the schema path of the rule ("/properties/replicas/type").
	Keyword string
	Msg     string
}

// CompileSchema compiles the parameters schema of a package (nil or empty:
// any object).
func CompileSchema(params map[string]any) (*Schema, error) {
	raw := params
	if len(raw) == 0 {
		raw = map[string]any{"type": "object"}
	}
	doc, err := jsonValue(raw)
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{}) // a package's schema reaches no file or URL
	const loc = "steward-package.yaml#/parameters"
	if err := c.AddResource("steward-package.yaml", map[string]any{"parameters": doc}); err != nil {
		return nil, err
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil, schemaCompileError(err)
	}
	return &Schema{raw: raw, sch: sch}, nil
}

// schemaCompileError shortens the compiler's error to its cause.
func schemaCompileError(err error) error {
	var se *jsonschema.SchemaValidationError
	if errors.As(err, &se) && se.Err != nil {
		return fmt.Errorf("not a valid JSON Schema: %v", se.Err)
	}
	return fmt.Errorf("not a valid JSON Schema: %v", err)
}

// Apply returns with (nil: empty) with the schema's defaults filled in
// where a value is missing, and every violation of the schema by the
// result. with itself is not changed.
func (s *Schema) Apply(with map[string]any) (map[string]any, []Violation, error) {
	out, err := deepCopy(with)
	if err != nil {
		return nil, nil, err
	}
	if out == nil {
		out = map[string]any{}
	}
	applyDefaults(s.raw, out)
	inst, err := jsonValue(out)
	if err != nil {
		return nil, nil, err
	}
	err = s.sch.Validate(inst)
	if err == nil {
		return out, nil, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil, nil, err
	}
	var vs []Violation
	leaves(ve, &vs)
	slices.SortStableFunc(vs, func(a, b Violation) int {
		return strings.Compare(strings.Join(a.Instance, "/"), strings.Join(b.Instance, "/"))
	})
	return out, vs, nil
}

var printer = message.NewPrinter(language.English)

// leaves collects the innermost errors: the rules actually broken.
func leaves(e *jsonschema.ValidationError, out *[]Violation) {
	if len(e.Causes) == 0 {
		kw := ""
		if base, frag, ok := strings.Cut(e.SchemaURL, "#"); ok && base != "" {
			kw = strings.TrimPrefix(frag, "/parameters")
		}
		if p := e.ErrorKind.KeywordPath(); len(p) > 0 {
			kw += "/" + strings.Join(p, "/")
		}
		*out = append(*out, Violation{Instance: e.InstanceLocation, Keyword: kw, Msg: e.ErrorKind.LocalizedString(printer)})
		return
	}
	for _, c := range e.Causes {
		leaves(c, out)
	}
}

// applyDefaults fills in the default of every property of an object
// schema missing in v, recursively into objects v has or that a default
// made.
func applyDefaults(schema map[string]any, v map[string]any) {
	props, _ := schema["properties"].(map[string]any)
	for name, p := range props {
		ps, ok := p.(map[string]any)
		if !ok {
			continue
		}
		if _, set := v[name]; !set {
			if d, ok := ps["default"]; ok {
				c, _ := deepCopyValue(d)
				v[name] = c
			}
		}
		if sub, ok := v[name].(map[string]any); ok {
			applyDefaults(ps, sub)
		}
	}
}

// jsonValue turns YAML-decoded values into what the validator expects
// (JSON numbers).
func jsonValue(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonschema.UnmarshalJSON(bytes.NewReader(b))
}

func deepCopy(m map[string]any) (map[string]any, error) {
	if m == nil {
		return nil, nil
	}
	c, err := deepCopyValue(m)
	if err != nil {
		return nil, err
	}
	return c.(map[string]any), nil
}

// deepCopyValue copies a YAML-decoded value (maps, lists, scalars).
func deepCopyValue(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := deepCopyValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := deepCopyValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case nil, string, bool, int, int64, uint64, float64:
		return x, nil
	}
	return nil, fmt.Errorf("parameter value of type %T", v)
}

// noLoader refuses every $ref outside the schema itself: a package must
// not make steward read local files or the network.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("$ref %s: a package's parameters schema refers only to itself", url)
}
