package reconcile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unique"

	"go.yaml.in/yaml/v3"
)

// SourceError is an error located in a file: file:line: message.
type SourceError struct {
	File string
	Line int // 1-based; 0 when unknown
	Err  error
}

func (e *SourceError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *SourceError) Unwrap() error { return e.Err }

// maxAliasExpansion bounds alias expansion while decoding (billion-laughs guard).
const maxAliasExpansion = 1 << 20

// maxDecodedBytes bounds the scalar bytes one document decodes to, aliases
// expanded: a 1 MB scalar aliased 1000 times is a gigabyte once printed.
const maxDecodedBytes = 64 << 20

// DecodeObjects parses a YAML (or JSON) stream of objects. Empty documents are
// skipped; a document of kind List is expanded into its items. Every object
// must have apiVersion, kind and metadata.name. Errors name file (the given
// source name) and line.
func DecodeObjects(data []byte, file string) ([]*Object, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var objs []*Object
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, yamlError(file, err)
		}
		if len(doc.Content) == 0 {
			continue
		}
		root := doc.Content[0]
		if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
			continue
		}
		if root.Kind != yaml.MappingNode {
			return nil, &SourceError{File: file, Line: root.Line, Err: fmt.Errorf("document is a %s, not an object", nodeKind(root))}
		}
		v, err := nodeValue(root, &decodeState{budget: maxAliasExpansion, bytes: maxDecodedBytes})
		if err != nil {
			return nil, &SourceError{File: file, Line: errLine(err, root.Line), Err: err}
		}
		m := v.(map[string]any)
		items, err := expandList(m, root, file)
		if err != nil {
			return nil, err
		}
		objs = append(objs, items...)
	}
}

func expandList(m map[string]any, root *yaml.Node, file string) ([]*Object, error) {
	kind, _ := m["kind"].(string)
	if strings.HasSuffix(kind, "List") && m["items"] != nil {
		items, ok := m["items"].([]any)
		if !ok {
			return nil, &SourceError{File: file, Line: root.Line, Err: errors.New("items of a List is not a list")}
		}
		out := make([]*Object, 0, len(items))
		itemsNode := mapValue(root, "items")
		for i, it := range items {
			line := root.Line
			if itemsNode != nil && i < len(itemsNode.Content) {
				line = itemsNode.Content[i].Line
			}
			im, ok := it.(map[string]any)
			if !ok {
				return nil, &SourceError{File: file, Line: line, Err: fmt.Errorf("items[%d] is not an object", i)}
			}
			o, err := newObject(im)
			if err != nil {
				return nil, &SourceError{File: file, Line: line, Err: err}
			}
			out = append(out, o)
		}
		return out, nil
	}
	o, err := newObject(m)
	if err != nil {
		return nil, &SourceError{File: file, Line: root.Line, Err: err}
	}
	return []*Object{o}, nil
}

// ErrMissingField is wrapped by errors for objects lacking apiVersion, kind or
// metadata.name.
var ErrMissingField = errors.New("missing required field")

func newObject(m map[string]any) (*Object, error) {
	o := &Object{Object: m}
	switch {
	case o.GetAPIVersion() == "":
		return nil, fmt.Errorf("object has no apiVersion: %w", ErrMissingField)
	case o.GetKind() == "":
		return nil, fmt.Errorf("object has no kind: %w", ErrMissingField)
	case o.GetName() == "" && o.GetGenerateName() != "":
		// kubectl create accepts these; a declarative apply cannot track them.
		return nil, fmt.Errorf("%s %s* cannot be applied: uses generateName (give it a metadata.name): %w",
			o.GetKind(), o.GetGenerateName(), ErrMissingField)
	case o.GetName() == "":
		return nil, fmt.Errorf("%s has no metadata.name: %w", o.GetKind(), ErrMissingField)
	}
	return o, nil
}

// lineError carries the line of the node that failed to convert.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return e.msg }

func errLine(err error, fallback int) int {
	var le *lineError
	if errors.As(err, &le) && le.line > 0 {
		return le.line
	}
	return fallback
}

// decodeState bounds alias expansion: a total node budget against alias
// bombs, and the aliases being expanded against an alias inside itself.
type decodeState struct {
	budget    int
	bytes     int // scalar bytes left (0 in a state made without it: unbounded)
	expanding []*yaml.Node
}

// nodeValue converts a YAML node into the JSON-compatible values that
// unstructured objects hold: map[string]any, []any, string, int64, float64,
// bool and nil.
func nodeValue(n *yaml.Node, budget *decodeState) (any, error) {
	budget.budget--
	if budget.budget < 0 {
		return nil, &lineError{n.Line, "document expands to too many nodes (alias bomb?)"}
	}
	if budget.bytes > 0 {
		if budget.bytes -= len(n.Value) + 1; budget.bytes <= 0 {
			return nil, &lineError{n.Line, fmt.Sprintf("document expands to more than %d MiB (alias bomb?)", maxDecodedBytes>>20)}
		}
	}
	switch n.Kind {
	case yaml.AliasNode:
		if slices.Contains(budget.expanding, n.Alias) {
			return nil, &lineError{n.Line, fmt.Sprintf("alias *%s refers to itself", n.Value)}
		}
		budget.expanding = append(budget.expanding, n.Alias)
		v, err := nodeValue(n.Alias, budget)
		budget.expanding = budget.expanding[:len(budget.expanding)-1]
		return v, err
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeValue(n.Content[0], budget)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := nodeValue(c, budget)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		return mappingValue(n, budget)
	default:
		return scalarValue(n)
	}
}

func mappingValue(n *yaml.Node, budget *decodeState) (map[string]any, error) {
	out := make(map[string]any, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Tag == "!!merge" {
			merges = append(merges, v) // explicit keys win, wherever they stand
			continue
		}
		if k.Kind != yaml.ScalarNode {
			return nil, &lineError{k.Line, "mapping key is not a scalar"}
		}
		if _, dup := out[k.Value]; dup {
			return nil, &lineError{k.Line, fmt.Sprintf("duplicate key %q", k.Value)}
		}
		val, err := nodeValue(v, budget)
		if err != nil {
			return nil, err
		}
		key := internKey(k.Value)
		if str, ok := val.(string); ok && (key == "apiVersion" || key == "kind") {
			val = unique.Make(str).Value()
		}
		out[key] = val
	}
	for _, v := range merges {
		if err := mergeInto(out, v, budget); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// commonKeys are mapping keys most objects have. Decoded objects are kept
// (the generation cache keeps a daemon's 40 000), and each key the parser
// read is a string of its own: one shared copy of each common key, and of
// each apiVersion and kind value, is a sixth of a small object's memory.
var commonKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		"apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations", "spec", "data",
		"stringData", "type", "items", "template", "selector", "matchLabels", "containers", "image",
		"ports", "port", "env", "value", "resources", "replicas",
		// machine kinds
		"path", "content", "contentBase64", "source", "mode", "owner", "group", "state", "enabled",
		"version", "run", "creates", "unless", "onlyIf", "watch", "home", "shell", "uid", "gid",
	} {
		m[k] = k
	}
	return m
}()

// internKey returns the shared copy of k when it is a common key.
func internKey(k string) string {
	if s, ok := commonKeys[k]; ok {
		return s
	}
	return k
}

// mergeInto applies a YAML merge key (<<): keys already present win.
func mergeInto(out map[string]any, v *yaml.Node, budget *decodeState) error {
	srcs := []*yaml.Node{v}
	if v.Kind == yaml.SequenceNode {
		srcs = v.Content
	}
	for _, s := range srcs {
		val, err := nodeValue(s, budget)
		if err != nil {
			return err
		}
		m, ok := val.(map[string]any)
		if !ok {
			return &lineError{s.Line, "merge key (<<) needs a mapping"}
		}
		for k, x := range m {
			if _, ok := out[k]; !ok {
				out[k] = x
			}
		}
	}
	return nil
}

func scalarValue(n *yaml.Node) (any, error) {
	switch n.ShortTag() {
	case "!!null":
		return nil, nil
	case "!!bool":
		var b bool
		if err := n.Decode(&b); err != nil {
			return nil, &lineError{n.Line, err.Error()}
		}
		return b, nil
	case "!!int":
		if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
			return i, nil
		}
		var i int64
		if err := n.Decode(&i); err != nil {
			return nil, &lineError{n.Line, fmt.Sprintf("integer %q out of range", n.Value)}
		}
		return i, nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil {
			return nil, &lineError{n.Line, err.Error()}
		}
		if f == math.Trunc(f) && !strings.ContainsAny(n.Value, ".eE") && math.Abs(f) < 1<<53 {
			return int64(f), nil
		}
		return f, nil
	default: // !!str, !!timestamp, !!binary and custom tags keep their text
		return n.Value, nil
	}
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	default:
		return "mapping"
	}
}

// yamlError turns a yaml.v3 parse error ("yaml: line 3: ...") into a
// *SourceError with the line separated out.
func yamlError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if line, convErr := strconv.Atoi(num); convErr == nil {
				return &SourceError{File: file, Line: line, Err: errors.New(tail)}
			}
		}
	}
	return &SourceError{File: file, Err: errors.New(msg)}
}
