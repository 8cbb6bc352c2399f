package checks

import (
	"fmt"

	"github.com/google/cel-go/cel"
	"math"
	"regexp"
	"sort"
)

// typeMask is the set of JSON types a schema admits; zero admits any.
type typeMask uint8

const (
	tObject typeMask = 1 << iota
	tArray
	tString
	tInteger
	tNumber
	tBoolean
)

var typeNames = []struct {
	t    typeMask
	name string
}{{tObject, "object"}, {tArray, "array"}, {tString, "string"}, {tInteger, "integer"}, {tNumber, "number"}, {tBoolean, "boolean"}}

func (m typeMask) String() string {
	s := ""
	for _, tn := range typeNames {
		if m&tn.t != 0 {
			if s != "" {
				s += " or "
			}
			s += tn.name
		}
	}
	return s
}

// schema is a compiled, immutable OpenAPI v3 schema node. Compiled schemas
// are shared between goroutines and never changed after compilation.
type schema struct {
	types  typeMask
	format string

	props        map[string]*schema
	required     []string
	additional   *schema // additionalProperties as a schema
	additionalOK bool    // additionalProperties: true
	openObject   bool    // unknown fields allowed: preserve-unknown-fields, or a free-form built-in object
	embedded     bool    // x-kubernetes-embedded-resource: apiVersion, kind, metadata implied
	items        *schema

	enum                []any
	allOf, anyOf, oneOf []*schema
	not                 *schema

	intOrString bool // x-kubernetes-int-or-string, format int-or-string
	quantity    bool // resource.Quantity: a number or a quantity string

	minimum, maximum     *float64
	exclusiveMinimum     bool
	exclusiveMaximum     bool
	multipleOf           *float64
	minLength, maxLength int64 // -1: unset
	minItems, maxItems   int64
	minProps, maxProps   int64
	pattern              *regexp.Regexp
	uniqueItems          bool

	validations []celValidation // x-kubernetes-validations (CRDs only)
}

// anySchema admits every value.
var anySchema = &schema{openObject: true, minLength: -1, maxLength: -1, minItems: -1, maxItems: -1, minProps: -1, maxProps: -1}

// SchemaError is a schema that cannot be compiled (for example a CRD's
// openAPIV3Schema with a wrong type); Path is the keyword's place in it.
type SchemaError struct {
	Path string
	Msg  string
}

func (e *SchemaError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// compiler turns generic JSON trees (map[string]any) into schemas.
type compiler struct {
	// resolve returns the compiled definition a $ref names (built-in
	// schemas only); nil refuses references.
	resolve func(name string) (*schema, error)
	// strict: an object schema without properties, additionalProperties or
	// x-kubernetes-preserve-unknown-fields admits no fields (structural CRD
	// schemas, whose unknown fields are pruned). Built-in free-form objects
	// (RawExtension, FieldsV1) are not strict.
	strict bool
	// celEnv compiles x-kubernetes-validations (CRD schemas); nil skips
	// them. costLimit bounds one evaluation.
	celEnv    *cel.Env
	costLimit uint64
	// depth guards against absurdly deep (hostile) schemas.
	depth int
}

const maxSchemaDepth = 256

func (c *compiler) compile(v any, at string) (*schema, error) {
	if v == nil {
		return anySchema, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &SchemaError{at, fmt.Sprintf("schema is a %s, not an object", jsonType(v))}
	}
	if c.depth++; c.depth > maxSchemaDepth {
		return nil, &SchemaError{at, "schema nested too deeply"}
	}
	defer func() { c.depth-- }()
	if ref, ok := m["$ref"]; ok {
		name, ok := ref.(string)
		if !ok || c.resolve == nil {
			return nil, &SchemaError{at + ".$ref", "references are not supported here"}
		}
		return c.resolve(name)
	}
	s := &schema{minLength: -1, maxLength: -1, minItems: -1, maxItems: -1, minProps: -1, maxProps: -1}
	var err error
	kw := func(k string) string { return at + "." + k }
	if t, ok := m["type"]; ok {
		name, _ := t.(string)
		switch name {
		case "object":
			s.types = tObject
		case "array":
			s.types = tArray
		case "string":
			s.types = tString
		case "integer":
			s.types = tInteger
		case "number":
			s.types = tNumber | tInteger
		case "boolean":
			s.types = tBoolean
		default:
			return nil, &SchemaError{kw("type"), fmt.Sprintf("unknown type %v", t)}
		}
	}
	if s.format, err = str(m, "format", at); err != nil {
		return nil, err
	}
	if s.format == "int-or-string" {
		s.intOrString = true
	}
	if s.intOrString, err = flag(m, "x-kubernetes-int-or-string", at, s.intOrString); err != nil {
		return nil, err
	}
	if s.embedded, err = flag(m, "x-kubernetes-embedded-resource", at, false); err != nil {
		return nil, err
	}
	preserve, err := flag(m, "x-kubernetes-preserve-unknown-fields", at, false)
	if err != nil {
		return nil, err
	}
	if p, ok := m["properties"]; ok {
		pm, ok := p.(map[string]any)
		if !ok {
			return nil, &SchemaError{kw("properties"), "not an object"}
		}
		s.props = make(map[string]*schema, len(pm))
		for name, ps := range pm {
			if s.props[name], err = c.compile(ps, at+".properties["+name+"]"); err != nil {
				return nil, err
			}
		}
	}
	switch a := m["additionalProperties"].(type) {
	case nil:
	case bool:
		s.additionalOK = a
	case map[string]any:
		if s.additional, err = c.compile(a, kw("additionalProperties")); err != nil {
			return nil, err
		}
	default:
		return nil, &SchemaError{kw("additionalProperties"), "want a schema or a boolean"}
	}
	s.openObject = preserve || (!c.strict && s.props == nil && s.additional == nil)
	if it, ok := m["items"]; ok {
		if s.items, err = c.compile(it, kw("items")); err != nil {
			return nil, err
		}
	}
	if s.not, err = c.optional(m, "not", at); err != nil {
		return nil, err
	}
	for _, l := range []struct {
		key string
		dst *[]*schema
	}{{"allOf", &s.allOf}, {"anyOf", &s.anyOf}, {"oneOf", &s.oneOf}} {
		if *l.dst, err = c.list(m, l.key, at); err != nil {
			return nil, err
		}
	}
	if s.required, err = strs(m, "required", at); err != nil {
		return nil, err
	}
	if e, ok := m["enum"]; ok {
		list, ok := e.([]any)
		if !ok {
			return nil, &SchemaError{kw("enum"), "not a list"}
		}
		s.enum = list
	}
	if s.pattern, err = pattern(m, at); err != nil {
		return nil, err
	}
	if err := s.bounds(m, at); err != nil {
		return nil, err
	}
	if s.validations, err = c.compileValidations(m, at); err != nil {
		return nil, err
	}
	// A built-in int-or-string or quantity is a oneOf over types; it is
	// checked directly instead.
	if s.intOrString || s.quantity {
		s.oneOf = nil
	}
	return s, nil
}

func (c *compiler) optional(m map[string]any, key, at string) (*schema, error) {
	v, ok := m[key]
	if !ok {
		return nil, nil
	}
	return c.compile(v, at+"."+key)
}

func (c *compiler) list(m map[string]any, key, at string) ([]*schema, error) {
	v, ok := m[key]
	if !ok {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, &SchemaError{at + "." + key, "not a list"}
	}
	out := make([]*schema, len(l))
	for i, it := range l {
		var err error
		if out[i], err = c.compile(it, fmt.Sprintf("%s.%s[%d]", at, key, i)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *schema) bounds(m map[string]any, at string) error {
	var err error
	num := func(key string) *float64 {
		v, ok := m[key]
		if !ok || err != nil {
			return nil
		}
		f, _, isNum := number(v)
		if !isNum || math.IsNaN(f) {
			err = &SchemaError{at + "." + key, "not a number"}
			return nil
		}
		return &f
	}
	count := func(key string) int64 {
		v, ok := m[key]
		if !ok || err != nil {
			return -1
		}
		f, isInt, isNum := number(v)
		if !isNum || !isInt || f < 0 {
			err = &SchemaError{at + "." + key, "not a non-negative integer"}
			return -1
		}
		return int64(min(f, math.MaxInt64/2))
	}
	s.minimum, s.maximum, s.multipleOf = num("minimum"), num("maximum"), num("multipleOf")
	s.minLength, s.maxLength = count("minLength"), count("maxLength")
	s.minItems, s.maxItems = count("minItems"), count("maxItems")
	s.minProps, s.maxProps = count("minProperties"), count("maxProperties")
	if err != nil {
		return err
	}
	if s.multipleOf != nil && *s.multipleOf <= 0 {
		return &SchemaError{at + ".multipleOf", "must be positive"}
	}
	for _, f := range []struct {
		key string
		dst *bool
	}{{"exclusiveMinimum", &s.exclusiveMinimum}, {"exclusiveMaximum", &s.exclusiveMaximum}, {"uniqueItems", &s.uniqueItems}} {
		if *f.dst, err = flag(m, f.key, at, false); err != nil {
			return err
		}
	}
	return nil
}

func pattern(m map[string]any, at string) (*regexp.Regexp, error) {
	p, err := str(m, "pattern", at)
	if err != nil || p == "" {
		return nil, err
	}
	re, err := regexp.Compile(p)
	if err != nil {
		// ECMA-262 patterns RE2 cannot run (lookahead, backreferences).
		return nil, &SchemaError{at + ".pattern", fmt.Sprintf("unsupported pattern: %v", err)}
	}
	return re, nil
}

func str(m map[string]any, key, at string) (string, error) {
	v, ok := m[key]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", &SchemaError{at + "." + key, "not a string"}
	}
	return s, nil
}

func flag(m map[string]any, key, at string, def bool) (bool, error) {
	v, ok := m[key]
	if !ok {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, &SchemaError{at + "." + key, "not a boolean"}
	}
	return b || def, nil
}

func strs(m map[string]any, key, at string) ([]string, error) {
	v, ok := m[key]
	if !ok {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, &SchemaError{at + "." + key, "not a list of strings"}
	}
	out := make([]string, len(l))
	for i, it := range l {
		if out[i], ok = it.(string); !ok {
			return nil, &SchemaError{fmt.Sprintf("%s.%s[%d]", at, key, i), "not a string"}
		}
	}
	sort.Strings(out)
	return out, nil
}
