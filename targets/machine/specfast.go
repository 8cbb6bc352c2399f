package machine

import (
	"reflect"
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
// compares them). fields indexes into's fields by JSON name.
func setSpecFields(m map[string]any, into any, fields map[string]int) bool {
	v := reflect.ValueOf(into).Elem()
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
