package reconcile

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// Pos is a place in a file.
type Pos struct {
	Line, Column int
}

// FieldError is a stack-file error naming file, line and field path.
type FieldError struct {
	File  string
	Pos   Pos
	Field string // e.g. units[1].generator; empty for the whole file
	Msg   string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Pos.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Pos.Line)
		if e.Pos.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Pos.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		if strings.ContainsFunc(e.Field, unicode.IsControl) {
			b.WriteString(strconv.Quote(e.Field)) // a key cannot forge an output line
		} else {
			b.WriteString(e.Field)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is a list of problems, all reported together.
type Errors []error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.Is/As look into each problem.
func (es Errors) Unwrap() []error { return es }

// ParseStack decodes and validates a stack file strictly: unknown fields,
// wrong types, duplicate keys and every rule of Validate are errors naming
// file, line and field. Paths are checked lexically; call CheckPaths with the
// revision's tree to also refuse symlinks leading out of it.
func ParseStack(data []byte, file string) (*Stack, error) {
	return parseStack(data, file, DefaultStackLimits())
}

func parseStack(data []byte, file string, lim StackLimits) (*Stack, error) {
	s, err := decodeStack(data, file, lim)
	if err != nil {
		return nil, err // capped as it is decoded
	}
	if err := s.Validate(); err != nil {
		return nil, capErrors(err, lim.MaxErrors)
	}
	s.expandReleases()
	s.byName = make(map[string]int, len(s.Units))
	for i, u := range s.Units {
		s.byName[u.Name] = i
		if k := s.Targets[u.Target].Kubernetes; k != nil {
			s.Units[i].targetNamespace = k.Namespace
		}
	}
	return s, nil
}

func decodeStack(data []byte, file string, lim StackLimits) (*Stack, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FieldError{File: file, Msg: "empty stack file"}
		}
		var se *SourceError
		if errors.As(yamlError(file, err), &se) {
			return nil, &FieldError{File: file, Pos: Pos{Line: se.Line}, Msg: se.Err.Error()}
		}
		return nil, err
	}
	var extra yaml.Node
	if dec.Decode(&extra) == nil {
		at := &extra
		if len(extra.Content) > 0 {
			at = extra.Content[0]
		}
		return nil, &FieldError{File: file, Pos: Pos{at.Line, at.Column}, Msg: "more than one YAML document; a stack file is one document"}
	}
	d := &nodeDecoder{file: file, pos: map[string]Pos{}, budget: lim.MaxNodes, maxErrors: lim.MaxErrors}
	s := &Stack{File: file}
	d.decode(doc.Content[0], reflect.ValueOf(s).Elem(), "")
	if d.more > 0 {
		d.errs = append(d.errs, &FieldError{File: file, Msg: fmt.Sprintf("and %d more", d.more)})
	}
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	s.pos = d.pos
	return s, nil
}

type nodeDecoder struct {
	file      string
	pos       map[string]Pos
	errs      Errors
	more      int          // errors past maxErrors, counted only
	maxErrors int          // 0: no limit
	budget    int          // nodes left to decode, aliases expanded
	exhausted bool         // the budget ran out: decoding stopped
	expanding []*yaml.Node // aliases being decoded, against an alias inside itself
}

// full reports whether the errors reported reached maxErrors.
func (d *nodeDecoder) full() bool { return d.maxErrors > 0 && len(d.errs) >= d.maxErrors }

func (d *nodeDecoder) fail(n *yaml.Node, path, format string, args ...any) {
	if d.full() {
		d.more++
		return
	}
	d.errs = append(d.errs, &FieldError{File: d.file, Pos: Pos{n.Line, n.Column}, Field: path, Msg: fmt.Sprintf(format, args...)})
}

// spend takes one node from the budget; once it is gone decoding stops with
// one error.
func (d *nodeDecoder) spend(n *yaml.Node, path string) bool {
	if d.exhausted {
		return false
	}
	if d.budget--; d.budget < 0 {
		d.exhausted = true
		d.errs = append(d.errs, &FieldError{File: d.file, Pos: Pos{n.Line, n.Column}, Field: path,
			Msg: "the stack file expands to too many nodes (aliases?); decoding stopped"})
		return false
	}
	return true
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func (d *nodeDecoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if !d.spend(n, path) {
		return
	}
	if n.Kind == yaml.AliasNode {
		if slices.Contains(d.expanding, n.Alias) || len(d.expanding) > 64 {
			d.fail(n, path, "alias *%s refers to itself", n.Value)
			return
		}
		d.expanding = append(d.expanding, n.Alias)
		d.decode(n.Alias, v, path)
		d.expanding = d.expanding[:len(d.expanding)-1]
		return
	}
	if path != "" {
		d.pos[path] = Pos{n.Line, n.Column}
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // leave the zero value
	}
	if reflect.PointerTo(v.Type()).Implements(textUnmarshaler) {
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "want a scalar, found a %s", nodeKind(n))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.fail(n, path, "%v", err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Interface: // free-form YAML, typed as objects are
		x, err := nodeValue(n, &decodeState{budget: maxAliasExpansion, bytes: maxDecodedBytes})
		if err != nil {
			d.fail(n, path, "%v", err)
			return
		}
		v.Set(reflect.ValueOf(&x).Elem())
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, path, "want a list, found a %s", nodeKind(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *nodeDecoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping, found a %s", nodeKind(n))
		return
	}
	fields := yamlFields(v.Type())
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		sub := joinPath(path, k.Value)
		if !d.spend(k, sub) {
			return
		}
		if seen[k.Value] {
			d.fail(k, sub, "duplicate key")
			continue
		}
		seen[k.Value] = true
		idx, ok := fields[k.Value]
		if !ok {
			if d.full() {
				d.more++ // counted without rendering the known fields
				continue
			}
			d.fail(k, sub, "unknown field (known: %s)", strings.Join(sortedKeys(fields), ", "))
			continue
		}
		d.decode(val, v.Field(idx), sub)
	}
}

func (d *nodeDecoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping, found a %s", nodeKind(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		sub := joinPath(path, k.Value)
		if !d.spend(k, sub) {
			break
		}
		key := reflect.ValueOf(k.Value)
		if m.MapIndex(key).IsValid() {
			d.fail(k, sub, "duplicate key")
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, sub)
		m.SetMapIndex(key, elem)
	}
	v.Set(m)
}

func (d *nodeDecoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "want a %s, found a %s", v.Kind(), nodeKind(n))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if err != nil || n.ShortTag() != "!!bool" {
			d.fail(n, path, "want true or false, found %q", n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil || n.ShortTag() != "!!int" {
			d.fail(n, path, "want an integer, found %q", n.Value)
			return
		}
		v.SetInt(i)
	default:
		d.fail(n, path, "unsupported field type %s", v.Type())
	}
}

// yamlFields maps yaml key names to struct field indexes.
func yamlFields(t reflect.Type) map[string]int {
	out := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		name := yamlName(f)
		if name == "" {
			continue
		}
		out[name] = i
	}
	return out
}

// yamlName returns the key of a struct field, or "" for fields not in YAML.
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if tag == "-" || tag == "" {
		return ""
	}
	return tag
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
