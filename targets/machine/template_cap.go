package machine

import (
	"bytes"
	"fmt"
	"text/template"
)

// MaxTemplateOutput is the most a File template may render, in bytes, and
// the longest string any of its functions may build: a 2.7 KB template that
// doubles a string forty times with printf fails its object instead of
// taking steward's memory.
const MaxTemplateOutput = 16 << 20

// templateTooLarge is the error of a template past MaxTemplateOutput.
func templateTooLarge(max int) error {
	return fmt.Errorf("renders more than %d bytes (the File template limit)", max)
}

// cappedBuffer is a bytes.Buffer that refuses to grow past max.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, templateTooLarge(b.max)
	}
	return b.Buffer.Write(p)
}

// cappedFuncs replaces text/template's string-building builtins with ones
// that refuse a result longer than max. Their arguments are template text
// or earlier results, each within max, so what they build before the check
// stays within a small multiple of it.
func cappedFuncs(max int) template.FuncMap {
	cap1 := func(f func(...any) string) func(...any) (string, error) {
		return func(args ...any) (string, error) {
			s := f(args...)
			if len(s) > max {
				return "", templateTooLarge(max)
			}
			return s, nil
		}
	}
	return template.FuncMap{
		"print":    cap1(fmt.Sprint),
		"println":  cap1(fmt.Sprintln),
		"html":     cap1(template.HTMLEscaper),
		"js":       cap1(template.JSEscaper),
		"urlquery": cap1(template.URLQueryEscaper),
		"printf": func(format string, args ...any) (string, error) {
			s := fmt.Sprintf(format, args...)
			if len(s) > max {
				return "", templateTooLarge(max)
			}
			return s, nil
		},
	}
}
