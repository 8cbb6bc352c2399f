package checks

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
)

// maxFieldErrors caps the problems reported for one object; up to
// collectFieldErrors are collected and sorted first so the cap is
// deterministic whatever the map iteration order.
const (
	maxFieldErrors     = 50
	collectFieldErrors = 1000
)

// fieldError is one schema violation at a field path.
type fieldError struct {
	Field string
	Msg   string
}

// fieldPath is a field path built on the stack while walking; it is rendered
// only when a problem is found.
type fieldPath struct {
	parent *fieldPath
	name   string // field name, or map key when key is set
	index  int    // list index when name == "" and !key
	key    bool
}

func (p *fieldPath) field(name string) *fieldPath {
	return &fieldPath{parent: p, name: name, index: -1}
}
func (p *fieldPath) elem(i int) *fieldPath      { return &fieldPath{parent: p, index: i} }
func (p *fieldPath) mapKey(k string) *fieldPath { return &fieldPath{parent: p, name: k, key: true} }

// String renders the path the way the API server does:
// spec.template.spec.containers[0].image, metadata.labels[app.kubernetes.io/name].
func (p *fieldPath) String() string {
	if p == nil {
		return ""
	}
	var segs []*fieldPath
	for q := p; q != nil; q = q.parent {
		segs = append(segs, q)
	}
	var b strings.Builder
	for i := len(segs) - 1; i >= 0; i-- {
		q := segs[i]
		switch {
		case q.key:
			b.WriteString("[" + q.name + "]")
		case q.name != "":
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(q.name)
		default:
			b.WriteString("[" + strconv.Itoa(q.index) + "]")
		}
	}
	return b.String()
}

// validator walks one object against a schema.
type validator struct {
	errs []fieldError
	// structural: report unknown fields. Branches of anyOf/oneOf/not are
	// value validations only and do not.
	structural bool
	// redact: never quote values (the object is a Secret).
	redact bool
	// meta is the ObjectMeta schema, for embedded resources.
	meta *schema
}

func (v *validator) fail(p *fieldPath, format string, args ...any) {
	if len(v.errs) < collectFieldErrors {
		v.errs = append(v.errs, fieldError{Field: p.String(), Msg: fmt.Sprintf(format, args...)})
	}
}

// result returns the problems sorted by field and message, capped.
func (v *validator) result() []fieldError {
	errs := v.errs
	slices.SortFunc(errs, func(a, b fieldError) int {
		return cmp.Or(cmp.Compare(a.Field, b.Field), cmp.Compare(a.Msg, b.Msg))
	})
	if len(errs) > maxFieldErrors {
		n := len(errs) - maxFieldErrors
		errs = append(errs[:maxFieldErrors:maxFieldErrors], fieldError{Msg: fmt.Sprintf("%d more problems not reported", n)})
	}
	return errs
}

// quote renders a value for a message, unless the object is secret.
func (v *validator) quote(x any) string {
	if v.redact {
		return "(redacted)"
	}
	s, ok := x.(string)
	if !ok {
		b, _ := json.Marshal(x)
		s = string(b)
		if len(s) > 64 {
			return s[:61] + "..."
		}
		return s
	}
	if len(s) > 64 {
		s = s[:61] + "..."
	}
	return strconv.Quote(s)
}

func (v *validator) validate(s *schema, x any, p *fieldPath) {
	if x == nil || s == anySchema {
		// null is the zero value of a built-in field and is pruned from
		// custom resources.
		return
	}
	switch {
	case s.intOrString:
		if !isIntOrString(x) {
			v.fail(p, "expected integer or string, got %s", jsonType(x))
			return
		}
	case s.quantity:
		v.validateQuantity(x, p)
		return
	case s.types != 0 && !s.types.admits(x):
		v.fail(p, "expected %s, got %s", s.types, jsonType(x))
		return
	}
	switch t := x.(type) {
	case map[string]any:
		v.validateObject(s, t, p)
	case []any:
		v.validateArray(s, t, p)
	case string:
		v.validateString(s, t, p)
	case bool:
	default:
		v.validateNumber(s, x, p)
	}
	if len(s.enum) > 0 && !inEnum(s.enum, x) {
		list := make([]string, len(s.enum))
		for i, e := range s.enum {
			list[i] = v.quote(e)
		}
		v.fail(p, "unsupported value %s: supported values: %s", v.quote(x), strings.Join(list, ", "))
	}
	for _, sub := range s.allOf {
		v.validate(sub, x, p)
	}
	if len(s.anyOf) > 0 && v.matching(s.anyOf, x, 1) == 0 {
		v.fail(p, "must match at least one schema of anyOf")
	}
	if len(s.oneOf) > 0 {
		if n := v.matching(s.oneOf, x, 2); n != 1 {
			v.fail(p, "must match exactly one schema of oneOf, matches %d", n)
		}
	}
	if s.not != nil && v.matching([]*schema{s.not}, x, 1) == 1 {
		v.fail(p, "must not match the schema of not")
	}
}

// matching counts the branches x satisfies, stopping at limit.
func (v *validator) matching(branches []*schema, x any, limit int) int {
	n := 0
	for _, b := range branches {
		sub := validator{redact: v.redact, meta: v.meta}
		sub.validate(b, x, nil)
		if len(sub.errs) == 0 {
			if n++; n >= limit {
				break
			}
		}
	}
	return n
}

func (v *validator) validateObject(s *schema, m map[string]any, p *fieldPath) {
	for _, name := range s.required {
		if _, ok := m[name]; !ok {
			v.fail(p.field(name), "required field is missing")
		}
	}
	if s.minProps >= 0 && int64(len(m)) < s.minProps {
		v.fail(p, "must have at least %d properties", s.minProps)
	}
	if s.maxProps >= 0 && int64(len(m)) > s.maxProps {
		v.fail(p, "must have at most %d properties", s.maxProps)
	}
	for k, val := range m {
		if ps, ok := s.props[k]; ok {
			v.validate(ps, val, p.field(k))
			continue
		}
		switch {
		case s.additional != nil:
			v.validate(s.additional, val, p.mapKey(k))
		case s.embedded && (k == "apiVersion" || k == "kind"):
			if _, ok := val.(string); !ok && val != nil {
				v.fail(p.field(k), "expected string, got %s", jsonType(val))
			}
		case s.embedded && k == "metadata" && v.meta != nil:
			v.validate(v.meta, val, p.field(k))
		case s.additionalOK || s.openObject || s.embedded && k == "metadata":
		case v.structural:
			v.fail(p.field(k), "unknown field")
		}
	}
}

func (v *validator) validateArray(s *schema, l []any, p *fieldPath) {
	if s.minItems >= 0 && int64(len(l)) < s.minItems {
		v.fail(p, "must have at least %d items", s.minItems)
	}
	if s.maxItems >= 0 && int64(len(l)) > s.maxItems {
		v.fail(p, "must have at most %d items", s.maxItems)
	}
	if s.items != nil {
		for i, it := range l {
			v.validate(s.items, it, p.elem(i))
		}
	}
	if s.uniqueItems {
		for i := 1; i < len(l); i++ {
			for j := 0; j < i; j++ {
				if equalJSON(l[i], l[j]) {
					v.fail(p.elem(i), "duplicate of item %d", j)
					break
				}
			}
		}
	}
}

func (v *validator) validateString(s *schema, str string, p *fieldPath) {
	if s.minLength >= 0 || s.maxLength >= 0 {
		n := int64(utf8.RuneCountInString(str))
		if s.minLength >= 0 && n < s.minLength {
			v.fail(p, "must be at least %d characters long", s.minLength)
		}
		if s.maxLength >= 0 && n > s.maxLength {
			v.fail(p, "must be at most %d characters long", s.maxLength)
		}
	}
	if s.pattern != nil && !s.pattern.MatchString(str) {
		v.fail(p, "%s does not match pattern %q", v.quote(str), s.pattern.String())
	}
	switch s.format {
	case "", "int-or-string", "int32", "int64", "double", "float":
	case "byte":
		if _, err := base64.StdEncoding.DecodeString(str); err != nil {
			v.fail(p, "not valid base64")
		}
	default:
		if strfmt.Default.ContainsName(s.format) && !strfmt.Default.Validates(s.format, str) {
			v.fail(p, "%s is not a valid %s", v.quote(str), s.format)
		}
	}
}

func (v *validator) validateNumber(s *schema, x any, p *fieldPath) {
	f, isInt, _ := number(x)
	switch s.format {
	case "int32":
		if isInt && (f < math.MinInt32 || f > math.MaxInt32) {
			v.fail(p, "%s overflows int32", v.quote(x))
		}
	}
	if s.minimum != nil && (f < *s.minimum || s.exclusiveMinimum && f == *s.minimum) {
		v.fail(p, "must be greater than %s%v", orEqual(!s.exclusiveMinimum), *s.minimum)
	}
	if s.maximum != nil && (f > *s.maximum || s.exclusiveMaximum && f == *s.maximum) {
		v.fail(p, "must be less than %s%v", orEqual(!s.exclusiveMaximum), *s.maximum)
	}
	if s.multipleOf != nil {
		if q := f / *s.multipleOf; q != math.Trunc(q) {
			v.fail(p, "must be a multiple of %v", *s.multipleOf)
		}
	}
}

func orEqual(b bool) string {
	if b {
		return "or equal to "
	}
	return ""
}

// validateQuantity accepts what resource.Quantity unmarshals: a number or a
// quantity string such as "500m" or "1Gi".
func (v *validator) validateQuantity(x any, p *fieldPath) {
	switch t := x.(type) {
	case string:
		if _, err := resource.ParseQuantity(t); err != nil {
			v.fail(p, "%s is not a quantity (e.g. 500m, 1Gi)", v.quote(t))
		}
	default:
		if _, _, ok := number(x); !ok {
			v.fail(p, "expected quantity (string or number), got %s", jsonType(x))
		}
	}
}

func (m typeMask) admits(x any) bool {
	switch x.(type) {
	case map[string]any:
		return m&tObject != 0
	case []any:
		return m&tArray != 0
	case string:
		return m&tString != 0
	case bool:
		return m&tBoolean != 0
	}
	_, isInt, ok := number(x)
	if !ok {
		return false
	}
	return m&tNumber != 0 || (isInt && m&tInteger != 0)
}

func isIntOrString(x any) bool {
	if _, ok := x.(string); ok {
		return true
	}
	_, isInt, _ := number(x)
	return isInt
}

// number converts the numeric types objects hold to float64 and tells
// whether the value is integral.
func number(x any) (f float64, isInt, ok bool) {
	switch n := x.(type) {
	case int64:
		return float64(n), true, true
	case int:
		return float64(n), true, true
	case int32:
		return float64(n), true, true
	case uint64:
		return float64(n), true, true
	case float64:
		return n, n == math.Trunc(n) && !math.IsInf(n, 0), !math.IsNaN(n)
	case float32:
		f := float64(n)
		return f, f == math.Trunc(f) && !math.IsInf(f, 0), !math.IsNaN(f)
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return float64(i), true, true
		}
		f, err := n.Float64()
		return f, false, err == nil
	}
	return 0, false, false
}

func jsonType(x any) string {
	switch x.(type) {
	case nil:
		return "null"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	case string:
		return "string"
	case bool:
		return "boolean"
	}
	if _, isInt, ok := number(x); ok {
		if isInt {
			return "integer"
		}
		return "number"
	}
	return fmt.Sprintf("%T", x)
}

func inEnum(enum []any, x any) bool {
	for _, e := range enum {
		if equalJSON(e, x) {
			return true
		}
	}
	return false
}

// equalJSON compares two JSON values, numbers by value whatever their Go type.
func equalJSON(a, b any) bool {
	if fa, _, ok := number(a); ok {
		fb, _, ok := number(b)
		return ok && fa == fb
	}
	switch at := a.(type) {
	case map[string]any:
		bt, ok := b.(map[string]any)
		if !ok || len(at) != len(bt) {
			return false
		}
		for k, av := range at {
			bv, ok := bt[k]
			if !ok || !equalJSON(av, bv) {
				return false
			}
		}
		return true
	case []any:
		bt, ok := b.([]any)
		if !ok || len(at) != len(bt) {
			return false
		}
		for i := range at {
			if !equalJSON(at[i], bt[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
