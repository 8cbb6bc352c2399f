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

// segment is one step of a field path: a field, a list index or a map key.
type segment struct {
	name  string
	index int
	kind  uint8
}

const (
	segField uint8 = iota
	segIndex
	segKey
)

// renderPath renders a path the way the API server does:
// spec.template.spec.containers[0].image, metadata.labels[app.kubernetes.io/name].
func renderPath(segs []segment) string {
	var b strings.Builder
	for _, q := range segs {
		switch q.kind {
		case segKey:
			b.WriteString("[" + q.name + "]")
		case segIndex:
			b.WriteString("[" + strconv.Itoa(q.index) + "]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(q.name)
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
	// path is where the walk is; it is rendered only for a problem, so
	// walking allocates nothing.
	path []segment
}

func (v *validator) push(q segment) { v.path = append(v.path, q) }
func (v *validator) pop()           { v.path = v.path[:len(v.path)-1] }

func (v *validator) fail(format string, args ...any) {
	if len(v.errs) < collectFieldErrors {
		v.errs = append(v.errs, fieldError{Field: renderPath(v.path), Msg: fmt.Sprintf(format, args...)})
	}
}

// failAt reports a problem at a field of the current object.
func (v *validator) failAt(field, format string, args ...any) {
	v.push(segment{name: field})
	v.fail(format, args...)
	v.pop()
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

func (v *validator) validate(s *schema, x any) {
	if x == nil || s == anySchema {
		// null is the zero value of a built-in field and is pruned from
		// custom resources.
		return
	}
	switch {
	case s.intOrString:
		if !isIntOrString(x) {
			v.fail("expected integer or string, got %s", jsonType(x))
			return
		}
	case s.quantity:
		v.validateQuantity(x)
		return
	case s.types != 0 && !s.types.admits(x):
		v.fail("expected %s, got %s", s.types, jsonType(x))
		return
	}
	switch t := x.(type) {
	case map[string]any:
		v.validateObject(s, t)
	case []any:
		v.validateArray(s, t)
	case string:
		v.validateString(s, t)
	case bool:
	default:
		v.validateNumber(s, x)
	}
	if len(s.enum) > 0 && !inEnum(s.enum, x) {
		list := make([]string, len(s.enum))
		for i, e := range s.enum {
			list[i] = v.quote(e)
		}
		v.fail("unsupported value %s: supported values: %s", v.quote(x), strings.Join(list, ", "))
	}
	for _, sub := range s.allOf {
		v.validate(sub, x)
	}
	if len(s.anyOf) > 0 && v.matching(s.anyOf, x, 1) == 0 {
		v.fail("must match at least one schema of anyOf")
	}
	if len(s.oneOf) > 0 {
		if n := v.matching(s.oneOf, x, 2); n != 1 {
			v.fail("must match exactly one schema of oneOf, matches %d", n)
		}
	}
	if s.not != nil && v.matching([]*schema{s.not}, x, 1) == 1 {
		v.fail("must not match the schema of not")
	}
	if len(s.validations) > 0 {
		v.validateCEL(s, x)
	}
}

// matching counts the branches x satisfies, stopping at limit.
func (v *validator) matching(branches []*schema, x any, limit int) int {
	n := 0
	for _, b := range branches {
		sub := validator{redact: v.redact, meta: v.meta}
		sub.validate(b, x)
		if len(sub.errs) == 0 {
			if n++; n >= limit {
				break
			}
		}
	}
	return n
}

func (v *validator) validateObject(s *schema, m map[string]any) {
	for _, name := range s.required {
		if _, ok := m[name]; !ok {
			v.failAt(name, "required field is missing")
		}
	}
	if s.minProps >= 0 && int64(len(m)) < s.minProps {
		v.fail("must have at least %d properties", s.minProps)
	}
	if s.maxProps >= 0 && int64(len(m)) > s.maxProps {
		v.fail("must have at most %d properties", s.maxProps)
	}
	for k, val := range m {
		if ps, ok := s.props[k]; ok {
			v.push(segment{name: k})
			v.validate(ps, val)
			v.pop()
			continue
		}
		switch {
		case s.additional != nil:
			v.push(segment{name: k, kind: segKey})
			v.validate(s.additional, val)
			v.pop()
		case s.embedded && (k == "apiVersion" || k == "kind"):
			if _, ok := val.(string); !ok && val != nil {
				v.failAt(k, "expected string, got %s", jsonType(val))
			}
		case s.embedded && k == "metadata" && v.meta != nil:
			v.push(segment{name: k})
			v.validate(v.meta, val)
			v.pop()
		case s.additionalOK || s.openObject || s.embedded && k == "metadata":
		case v.structural:
			v.failAt(k, "unknown field")
		}
	}
}

func (v *validator) validateArray(s *schema, l []any) {
	if s.minItems >= 0 && int64(len(l)) < s.minItems {
		v.fail("must have at least %d items", s.minItems)
	}
	if s.maxItems >= 0 && int64(len(l)) > s.maxItems {
		v.fail("must have at most %d items", s.maxItems)
	}
	if s.items != nil {
		for i, it := range l {
			v.push(segment{index: i, kind: segIndex})
			v.validate(s.items, it)
			v.pop()
		}
	}
	if s.uniqueItems {
		for i := 1; i < len(l); i++ {
			for j := 0; j < i; j++ {
				if equalJSON(l[i], l[j]) {
					v.push(segment{index: i, kind: segIndex})
					v.fail("duplicate of item %d", j)
					v.pop()
					break
				}
			}
		}
	}
}

func (v *validator) validateString(s *schema, str string) {
	if s.minLength >= 0 || s.maxLength >= 0 {
		n := int64(utf8.RuneCountInString(str))
		if s.minLength >= 0 && n < s.minLength {
			v.fail("must be at least %d characters long", s.minLength)
		}
		if s.maxLength >= 0 && n > s.maxLength {
			v.fail("must be at most %d characters long", s.maxLength)
		}
	}
	if s.pattern != nil && !s.pattern.MatchString(str) {
		v.fail("%s does not match pattern %q", v.quote(str), s.pattern.String())
	}
	switch s.format {
	case "", "int-or-string", "int32", "int64", "double", "float":
	case "byte":
		if _, err := base64.StdEncoding.DecodeString(str); err != nil {
			v.fail("not valid base64")
		}
	default:
		if strfmt.Default.ContainsName(s.format) && !strfmt.Default.Validates(s.format, str) {
			v.fail("%s is not a valid %s", v.quote(str), s.format)
		}
	}
}

func (v *validator) validateNumber(s *schema, x any) {
	f, isInt, _ := number(x)
	switch s.format {
	case "int32":
		if isInt && (f < math.MinInt32 || f > math.MaxInt32) {
			v.fail("%s overflows int32", v.quote(x))
		}
	}
	if s.minimum != nil && (f < *s.minimum || s.exclusiveMinimum && f == *s.minimum) {
		v.fail("must be greater than %s%v", orEqual(!s.exclusiveMinimum), *s.minimum)
	}
	if s.maximum != nil && (f > *s.maximum || s.exclusiveMaximum && f == *s.maximum) {
		v.fail("must be less than %s%v", orEqual(!s.exclusiveMaximum), *s.maximum)
	}
	if s.multipleOf != nil {
		if q := f / *s.multipleOf; q != math.Trunc(q) {
			v.fail("must be a multiple of %v", *s.multipleOf)
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
func (v *validator) validateQuantity(x any) {
	switch t := x.(type) {
	case string:
		if _, err := resource.ParseQuantity(t); err != nil {
			v.fail("%s is not a quantity (e.g. 500m, 1Gi)", v.quote(t))
		}
	default:
		if _, _, ok := number(x); !ok {
			v.fail("expected quantity (string or number), got %s", jsonType(x))
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
