package sops

import (
	"bytes"
	"encoding/json"
	"io"
	"path"
	"strings"

	"go.yaml.in/yaml/v3"
	"gopkg.in/ini.v1"
)

// Format is a file format SOPS encrypts structurally.
type Format int

// The formats steward decrypts. A file of any other format passes through
// untouched.
const (
	FormatNone Format = iota
	FormatYAML
	FormatJSON
	FormatDotenv
	FormatINI
)

func (f Format) String() string {
	switch f {
	case FormatYAML:
		return "yaml"
	case FormatJSON:
		return "json"
	case FormatDotenv:
		return "dotenv"
	case FormatINI:
		return "ini"
	}
	return "none"
}

// FormatOf is the format of a file by its name, as sops guesses it: .yaml
// and .yml, .json, .env, .ini; FormatNone for anything else.
func FormatOf(name string) Format {
	switch strings.ToLower(path.Ext(name)) {
	case ".yaml", ".yml":
		return FormatYAML
	case ".json":
		return FormatJSON
	case ".env":
		return FormatDotenv
	case ".ini":
		return FormatINI
	}
	return FormatNone
}

// Detect reports whether data, in format f, carries SOPS metadata: a
// top-level "sops" mapping (a [sops] section in INI, sops_ keys in dotenv)
// holding a mac or lastmodified entry. A YAML stream counts when any of its
// documents does. A file that does not parse is not SOPS: it passes through
// and its generator reports the syntax error.
func Detect(f Format, data []byte) bool {
	return mayCarry(f, data) && carries(f, data)
}

// mayCarry is the byte-level filter in front of the parsers: false only
// when data cannot carry SOPS metadata, so most plain files are never
// parsed twice. It must never be false where carries is true (the fuzz
// test checks): escapes, YAML tags and UTF-16 could spell the keys without
// their bytes, so those send data on to the parser.
func mayCarry(f Format, data []byte) bool {
	if f == FormatNone || len(data) == 0 {
		return false
	}
	if bytes.Contains(data, []byte("sops")) &&
		(bytes.Contains(data, []byte("mac")) || bytes.Contains(data, []byte("lastmodified"))) {
		return true
	}
	switch f {
	case FormatJSON:
		return spellingEscape(data, "u")
	case FormatYAML:
		return spellingEscape(data, "xuU\n\r") || bytes.IndexByte(data, 0) >= 0 ||
			bytes.IndexByte(data, '!') >= 0 || bytes.HasPrefix(data, []byte{0xfe, 0xff}) ||
			bytes.HasPrefix(data, []byte{0xff, 0xfe})
	}
	return false
}

// spellingEscape reports whether data holds a backslash followed by one of
// next: the escapes that can spell a letter (\x73, \u0073, \U00000073) or,
// in YAML, join a word across a line ("so\⏎ps"). Other escapes (\n, \t,
// \") cannot, and are common in manifests.
func spellingEscape(data []byte, next string) bool {
	for i := bytes.IndexByte(data, '\\'); i >= 0 && i+1 < len(data); {
		if strings.IndexByte(next, data[i+1]) >= 0 {
			return true
		}
		j := bytes.IndexByte(data[i+2:], '\\')
		if j < 0 {
			return false
		}
		i += 2 + j
	}
	return false
}

// carries is the structural test, by the format's own parser.
func carries(f Format, data []byte) bool {
	switch f {
	case FormatYAML:
		_, found := yamlDocs(data)
		return found
	case FormatJSON:
		return jsonCarries(data)
	case FormatDotenv:
		return dotenvCarries(data)
	case FormatINI:
		return iniCarries(data)
	}
	return false
}

// metadataKeys are the entries of which one marks a "sops" mapping as
// SOPS metadata rather than a values file's own "sops" key; sops writes
// both into every file.
func isMetadataKey(k string) bool { return k == "mac" || k == "lastmodified" }

// yamlDocs parses a YAML stream into its documents and reports whether any
// carries metadata. It returns nil documents when the stream does not parse.
func yamlDocs(data []byte) (docs []*yaml.Node, found bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			if err == io.EOF {
				return docs, found
			}
			return nil, false
		}
		docs = append(docs, &n)
		if yamlMetadata(&n) != nil {
			found = true
		}
	}
}

// yamlMetadata returns the "sops" mapping of a YAML document, nil when it
// has none.
func yamlMetadata(doc *yaml.Node) *yaml.Node {
	root := resolve(doc)
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = resolve(root.Content[0])
	}
	if root.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if yamlKey(root.Content[i]) != "sops" {
			continue
		}
		md := resolve(root.Content[i+1])
		if md.Kind != yaml.MappingNode {
			return nil
		}
		for j := 0; j+1 < len(md.Content); j += 2 {
			if isMetadataKey(yamlKey(md.Content[j])) {
				return md
			}
		}
		return nil
	}
	return nil
}

// yamlKey decodes a key the way sops's YAML store does (tags and escapes
// applied); "" for a key that is not a string.
func yamlKey(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Style&yaml.TaggedStyle == 0 {
		return n.Value
	}
	var v any
	if err := resolve(n).Decode(&v); err != nil {
		return ""
	}
	s, _ := v.(string)
	return s
}

// resolve follows aliases, a bounded number of times.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; i < 16 && n != nil && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}

func jsonCarries(data []byte) bool {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return false
	}
	raw, ok := top["sops"]
	if !ok {
		return false
	}
	var md map[string]json.RawMessage
	if err := json.Unmarshal(raw, &md); err != nil {
		return false
	}
	for k := range md {
		if isMetadataKey(k) {
			return true
		}
	}
	return false
}

// dotenvCarries reads lines the way sops's dotenv store does: split on
// "\n", the key is everything before the first "=", flattened metadata
// keys start with "sops_".
func dotenvCarries(data []byte) bool {
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		k, _, ok := bytes.Cut(line, []byte("="))
		if ok && len(line) > 0 && line[0] != '#' && isMetadataKey(strings.TrimPrefix(string(k), "sops_")) &&
			strings.HasPrefix(string(k), "sops_") {
			return true
		}
	}
	return false
}

// iniCarries parses with the options sops's INI store uses.
func iniCarries(data []byte) bool {
	f, err := ini.LoadSources(ini.LoadOptions{AllowNonUniqueSections: true}, data)
	if err != nil {
		return false
	}
	secs, err := f.SectionsByName("sops")
	if err != nil {
		return false
	}
	for _, s := range secs {
		for _, k := range s.KeyStrings() {
			if isMetadataKey(k) {
				return true
			}
		}
	}
	return false
}
