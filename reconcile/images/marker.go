package images

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Field is the part of an image reference a marker sets.
type Field int

// The fields, by marker suffix: none, :tag, :name, :digest.
const (
	FieldImage  Field = iota // name:tag, or name:tag@digest when pinned
	FieldTag                 // tag, or tag@digest when pinned
	FieldName                // the repository name
	FieldDigest              // sha256:...
)

var fieldSuffixes = map[string]Field{"tag": FieldTag, "name": FieldName, "digest": FieldDigest}

func (f Field) String() string {
	switch f {
	case FieldTag:
		return "tag"
	case FieldName:
		return "name"
	case FieldDigest:
		return "digest"
	}
	return "image"
}

// Marker is one setter comment on a scalar of a YAML file:
//
//	image: registry.example.com/team/app:1.2.3 # {"$imagepolicy": "app"}
//	newTag: 1.2.3 # {"$imagepolicy": "flux-system:app:tag"}
type Marker struct {
	File   string
	Line   int // 1-based
	Policy string
	// Namespace is the Flux namespace of NAMESPACE:POLICY; steward policy
	// names are global, so it is recorded and otherwise ignored.
	Namespace string
	Field     Field
	// Value is the scalar as the file has it now (unquoted).
	Value string
}

// Ref is the image a marker currently holds, as far as its field says.
func (m Marker) Ref() Ref {
	switch m.Field {
	case FieldTag:
		tag, digest, _ := strings.Cut(m.Value, "@")
		return Ref{Tag: tag, Digest: digest}
	case FieldName:
		return Ref{Name: m.Value}
	case FieldDigest:
		return Ref{Digest: m.Value}
	}
	return ParseRef(m.Value)
}

// Ref is an image reference split into its parts.
type Ref struct {
	Name   string // registry.example.com/team/app
	Tag    string // 1.2.3
	Digest string // sha256:...; empty unless pinned
}

// ParseRef splits name[:tag][@digest]. A colon inside the registry host
// (host:port/name) is not a tag separator.
func ParseRef(s string) Ref {
	var r Ref
	s, r.Digest, _ = strings.Cut(s, "@")
	r.Name = s
	if i := strings.LastIndexByte(s, ':'); i > strings.LastIndexByte(s, '/') {
		r.Name, r.Tag = s[:i], s[i+1:]
	}
	return r
}

// Value is what a marker of field f is set to for this image.
func (r Ref) Value(f Field) string {
	pin := ""
	if r.Digest != "" {
		pin = "@" + r.Digest
	}
	switch f {
	case FieldTag:
		return r.Tag + pin
	case FieldName:
		return r.Name
	case FieldDigest:
		return r.Digest
	}
	return r.Name + ":" + r.Tag + pin
}

// String is the full reference.
func (r Ref) String() string { return r.Value(FieldImage) }

// parseMarker reads a line comment. ok is false when the comment is no
// marker at all; err says why a comment that mentions $imagepolicy is
// malformed.
func parseMarker(comment string) (m Marker, ok bool, err error) {
	if !strings.Contains(comment, "$imagepolicy") {
		return m, false, nil
	}
	text := strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(comment), "#"))
	var obj map[string]any
	if err := json.Unmarshal([]byte(text), &obj); err != nil {
		return m, true, fmt.Errorf("marker is not a JSON object: %s", text)
	}
	raw, found := obj["$imagepolicy"]
	if !found || len(obj) != 1 {
		return m, true, fmt.Errorf(`marker wants exactly one key "$imagepolicy": %s`, text)
	}
	ref, isString := raw.(string)
	if !isString {
		return m, true, fmt.Errorf(`"$imagepolicy" wants a string: %s`, text)
	}
	parts := strings.Split(ref, ":")
	switch len(parts) {
	case 1:
		m.Policy = parts[0]
	case 2:
		if f, isField := fieldSuffixes[parts[1]]; isField {
			m.Policy, m.Field = parts[0], f
		} else {
			m.Namespace, m.Policy = parts[0], parts[1]
		}
	case 3:
		f, isField := fieldSuffixes[parts[2]]
		if !isField {
			return m, true, fmt.Errorf("unknown marker suffix %q in %q (want tag, name or digest)", parts[2], ref)
		}
		m.Namespace, m.Policy, m.Field = parts[0], parts[1], f
	default:
		return m, true, fmt.Errorf("marker %q has too many parts (want POLICY, NAMESPACE:POLICY, and an optional :tag, :name or :digest)", ref)
	}
	if m.Policy == "" || (len(parts) > 1 && parts[0] == "") {
		return m, true, fmt.Errorf("marker %q names no policy", ref)
	}
	return m, true, nil
}
