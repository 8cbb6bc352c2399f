package machine

import (
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// setSpecFields sets the fields of the struct into points at from m, the
// common case of decodeSpec without a round trip through encoding/json:
// every plan decodes every object's spec, and the round trip was a fifth
// of what a no-op drift pass allocated. It takes a value only when it is
// exactly what its field holds (a string for string and *string, a bool
// for bool and *bool, a list of strings for []string, a mapping of
// strings for map[string]string) and the strings are UTF-8, and reports
// false for anything else (null, a number, a wrong type), leaving into
// for encoding/json, which converts and words the errors. Where it
// reports true the result is the one encoding/json gives (a kept test
// compares them). m's keys are known to be into's fields.
func setSpecFields(m map[string]any, into any) bool {
	v := reflect.ValueOf(into).Elem()
	fields := specFieldsOf(v.Type())
	for k, val := range m {
		f, ok := fields[k]
		if !ok || !setSpecField(v.Field(f), val) {
			v.SetZero()
			return false
		}
	}
	return true
}

func setSpecField(f reflect.Value, val any) bool {
	switch f.Kind() {
	case reflect.String:
		s, ok := val.(string)
		if ok && utf8.ValidString(s) {
			f.SetString(s)
			return true
		}
	case reflect.Bool:
		if b, ok := val.(bool); ok {
			f.SetBool(b)
			return true
		}
	case reflect.Pointer:
		switch f.Type().Elem().Kind() {
		case reflect.String:
			if s, ok := val.(string); ok && utf8.ValidString(s) {
				f.Set(reflect.ValueOf(&s))
				return true
			}
		case reflect.Bool:
			if b, ok := val.(bool); ok {
				f.Set(reflect.ValueOf(&b))
				return true
			}
		}
	case reflect.Slice:
		l, ok := val.([]any)
		if !ok || f.Type().Elem().Kind() != reflect.String {
			return false
		}
		out := make([]string, len(l))
		for i, e := range l {
			if out[i], ok = e.(string); !ok || !utf8.ValidString(out[i]) {
				return false
			}
		}
		f.Set(reflect.ValueOf(out))
		return true
	case reflect.Map:
		mm, ok := val.(map[string]any)
		if !ok || f.Type() != reflect.TypeFor[map[string]string]() {
			return false
		}
		out := make(map[string]string, len(mm))
		for k, e := range mm {
			s, ok := e.(string)
			if !ok || !utf8.ValidString(k) || !utf8.ValidString(s) {
				return false
			}
			out[k] = s
		}
		f.Set(reflect.ValueOf(out))
		return true
	}
	return false
}

// specFieldsOf maps the JSON names of struct type t's fields to their
// indexes, worked out once per type.
func specFieldsOf(t reflect.Type) map[string]int {
	if f, ok := specFields.Load(t); ok {
		return f.(map[string]int)
	}
	out := map[string]int{}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out[name] = i
		}
	}
	f, _ := specFields.LoadOrStore(t, out)
	return f.(map[string]int)
}

var specFields sync.Map // reflect.Type -> map[string]int
