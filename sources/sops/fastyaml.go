package sops

import (
	"bytes"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	sops "github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	"github.com/getsops/sops/v3/stores"
	"go.yaml.in/yaml/v3"
)

// The YAML fast path decrypts the documents already parsed to find the
// metadata, in place, instead of handing the file to the library's YAML
// store (which parses it twice more, converts it to a sops.Tree, compiles
// the file's regex for every value and encodes every value back through a
// YAML round trip). It keeps the library for what it is for: the AES
// cipher, sops.ToBytes for the MAC, the metadata (stores.ExtractMetadata
// wherever quickMetadata does not read it); the key unwrap is dataKey, as
// on the library path. It decides per value as sops.Tree.Decrypt does
// (shouldBeEncrypted, walkBranch, walkValue) and hashes the same values, in
// the same order, in the same byte form. The differential and fuzz tests
// hold it to the library path.
//
// It covers the YAML sops writes, and edits of it: mappings with plain
// string keys, sequences, scalars of the core types, comments. It leaves to
// the library path (errFallback), before anything is decrypted or changed:
// anchors and aliases (merge keys included), explicit tags, keys that are
// not plain strings, duplicate keys, values that are not valid UTF-8, files
// with encrypted_comment_regex or unencrypted_comment_regex (whether a
// value is encrypted then depends on the comments around it); and after the
// key unwrap, before any change: values the library does not walk (integers
// beyond int64), and decrypted values of a type a value never has (a
// comment outside a sequence, bytes).
//
// Encrypted comments are dropped, where the library decrypts them: a
// comment is not data, the MAC does not cover it, and its plaintext would
// reach the output unmasked. Plain comments stay where they were.
var errFallback = errors.New("not covered by the YAML fast path")

// fastYAML decrypts docs, the documents of one sops file (every document
// of a stream sops encrypted as a whole, or one document encrypted on its
// own) whose metadata is in the first, and returns the plain YAML. Nothing
// in docs changes unless it succeeds. errFallback means the library path
// must decide.
func (d *Decryptor) fastYAML(name string, docs []*yaml.Node, seen *[]string) ([]byte, error) {
	for _, doc := range docs {
		if !covered(doc) {
			return nil, errFallback
		}
	}
	md, err := yamlMetadataOf(docs[0])
	if err != nil {
		return nil, &Error{Path: name, Err: fmt.Errorf("%w: sops metadata: %v", ErrMalformed, err)}
	}
	if md.EncryptedCommentRegex != "" || md.UnencryptedCommentRegex != "" {
		return nil, errFallback
	}
	key, err := d.dataKey(md)
	if err != nil {
		return nil, &Error{Path: name, Err: err}
	}
	defer clear(key)

	w := &walker{rules: newRules(md), key: key, c: &watchCipher{Cipher: aes.NewCipher()}, hash: sha512.New()}
	if md.MACOnlyEncrypted {
		w.hash.Write(sops.MACOnlyEncryptedInitialization)
	}
	for _, doc := range docs {
		if err := w.mapping(doc.Content[0], true); err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.Path = name
			}
			return nil, err
		}
	}
	if err := checkMAC(md, key, fmt.Sprintf("%X", w.hash.Sum(nil))); err != nil {
		return nil, &Error{Path: name, Err: err}
	}
	for _, e := range w.edits {
		e.apply()
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, doc := range docs {
		dropMetadata(doc.Content[0])
		dropEncryptedComments(doc)
		if err := enc.Encode(doc); err != nil {
			return nil, &Error{Path: name, Err: fmt.Errorf("%w: cannot write the decrypted yaml", ErrMalformed)}
		}
	}
	if err := enc.Close(); err != nil {
		return nil, &Error{Path: name, Err: fmt.Errorf("%w: cannot write the decrypted yaml", ErrMalformed)}
	}
	if seen != nil {
		*seen = append(*seen, w.c.values...)
	}
	return buf.Bytes(), nil
}

// checkMAC authenticates the file's stored MAC and compares it with mac,
// the one computed over the decrypted values.
func checkMAC(md sops.Metadata, key []byte, mac string) error {
	stored, err := aes.NewCipher().Decrypt(md.MessageAuthenticationCode, key, md.LastModified.Format(time.RFC3339))
	if err != nil {
		return fmt.Errorf("%w: its MAC is missing or cannot be authenticated", ErrTampered)
	}
	if s, ok := stored.(string); !ok || s != mac {
		return fmt.Errorf("%w: MAC mismatch", ErrTampered)
	}
	return nil
}

// covered reports whether the fast path handles doc: a document whose
// root is a mapping, and nothing the library's store treats its own way
// (see errFallback), nor anything its first parse, into a
// map[string]any to find duplicate keys, would refuse.
func covered(doc *yaml.Node) bool {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return false
	}
	return coveredNode(doc.Content[0], 0)
}

func coveredNode(n *yaml.Node, depth int) bool {
	if n.Anchor != "" || n.Style&yaml.TaggedStyle != 0 || depth > 10000 {
		return false
	}
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp":
			return utf8.ValidString(n.Value)
		}
		return false
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if !coveredNode(c, depth+1) {
				return false
			}
		}
		return true
	case yaml.MappingNode:
		if len(n.Content)%2 != 0 {
			return false
		}
		for i := 0; i < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Tag != "!!str" || k.Anchor != "" || k.Style&yaml.TaggedStyle != 0 ||
				!utf8.ValidString(k.Value) || !coveredNode(n.Content[i+1], depth+1) {
				return false
			}
			// The library's duplicate check: same kind, same raw text.
			for j := i + 2; j < len(n.Content); j += 2 {
				if n.Content[j].Kind == k.Kind && n.Content[j].Value == k.Value {
					return false
				}
			}
		}
		return true
	}
	return false
}

// yamlMetadataOf reads the "sops" entry of a covered document as the
// library's YAML store and stores.ExtractMetadata do.
func yamlMetadataOf(doc *yaml.Node) (sops.Metadata, error) {
	if md := yamlMetadata(doc); md != nil {
		if m, ok := quickMetadata(md); ok {
			return m, nil
		}
	}
	return libraryMetadata(doc)
}

// libraryMetadata is yamlMetadataOf by stores.ExtractMetadata alone.
func libraryMetadata(doc *yaml.Node) (sops.Metadata, error) {
	root := doc.Content[0]
	var branch sops.TreeBranch
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == stores.SopsMetadataKey {
			v, err := treeValue(root.Content[i+1])
			if err != nil {
				return sops.Metadata{}, err
			}
			branch = append(branch, sops.TreeItem{Key: stores.SopsMetadataKey, Value: v})
		}
	}
	_, md, err := stores.ExtractMetadata(sops.TreeBranches{branch}, stores.MetadataOpts{Flatten: stores.MetadataFlattenNone})
	return md, err
}

// treeValue converts a covered node as the YAML store's nodeToTreeValue
// does, without the comments (the metadata reader skips them).
func treeValue(n *yaml.Node) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		branch := make(sops.TreeBranch, 0, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			v, err := treeValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			branch = append(branch, sops.TreeItem{Key: n.Content[i].Value, Value: v})
		}
		return branch, nil
	case yaml.SequenceNode:
		var out []any
		for _, c := range n.Content {
			v, err := treeValue(c)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return scalarValue(n)
}

// scalarValue is the value the YAML store reads from a covered scalar:
// what it decodes to as an any.
func scalarValue(n *yaml.Node) (any, error) {
	if n.Tag == "!!str" {
		return n.Value, nil
	}
	var v any
	err := n.Decode(&v)
	return v, err
}

// rules is shouldBeEncrypted of sops.Tree without the comment rules, its
// regexes compiled once.
type rules struct {
	md             sops.Metadata
	unencRe, encRe *regexp.Regexp
}

func newRules(md sops.Metadata) rules {
	return rules{md: md, unencRe: compiled(md.UnencryptedRegex), encRe: compiled(md.EncryptedRegex)}
}

// patterns caches compiled rules by pattern: files encrypted by one
// .sops.yaml share theirs. A pattern that does not compile is cached as
// nil, which matches nothing, as regexp.Match's error does in the library.
var (
	patternsMu sync.Mutex
	patterns   = map[string]*regexp.Regexp{}
)

const maxPatterns = 256

func compiled(pattern string) *regexp.Regexp {
	if pattern == "" {
		return nil
	}
	patternsMu.Lock()
	re, ok := patterns[pattern]
	patternsMu.Unlock()
	if ok {
		return re
	}
	re, _ = regexp.Compile(pattern)
	patternsMu.Lock()
	if len(patterns) < maxPatterns {
		patterns[pattern] = re
	}
	patternsMu.Unlock()
	return re
}

func match(re *regexp.Regexp, s string) bool { return re != nil && re.MatchString(s) }

// encrypted says whether the value at path is encrypted, as
// sops.Tree.shouldBeEncrypted does: each rule that is set overrides the
// ones before it.
func (r *rules) encrypted(path []string) bool {
	encrypted := true
	if s := r.md.UnencryptedSuffix; s != "" {
		for _, p := range path {
			if strings.HasSuffix(p, s) {
				encrypted = false
				break
			}
		}
	}
	if s := r.md.EncryptedSuffix; s != "" {
		encrypted = false
		for _, p := range path {
			if strings.HasSuffix(p, s) {
				encrypted = true
				break
			}
		}
	}
	if r.md.UnencryptedRegex != "" {
		for _, p := range path {
			if match(r.unencRe, p) {
				encrypted = false
				break
			}
		}
	}
	if r.md.EncryptedRegex != "" {
		encrypted = false
		for _, p := range path {
			if match(r.encRe, p) {
				encrypted = true
				break
			}
		}
	}
	return encrypted
}

// walker walks a file's documents as sops.Tree.Decrypt does, decrypting
// the values its rules say are encrypted and hashing what the MAC covers.
// The decrypted values are kept as edits, applied once the MAC matches.
type walker struct {
	rules
	key   []byte
	c     *watchCipher
	hash  hash.Hash
	path  []string
	edits []edit
}

// edit is a decrypted value to write into its node, or, when seq is not
// nil, an item of seq to drop.
type edit struct {
	node, seq *yaml.Node
	value     any
}

func (e edit) apply() {
	if e.seq != nil {
		e.seq.Content = slices.DeleteFunc(e.seq.Content, func(n *yaml.Node) bool { return n == e.node })
		return
	}
	writeValue(e.node, e.value)
}

// mapping walks a mapping's values in order; at the top of a document it
// skips the "sops" entries, as ExtractMetadata removes them all.
func (w *walker) mapping(n *yaml.Node, top bool) error {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i].Value
		if top && k == stores.SopsMetadataKey {
			continue
		}
		w.path = append(w.path, k)
		err := w.value(n.Content[i+1])
		w.path = w.path[:len(w.path)-1]
		if err != nil {
			return err
		}
	}
	return nil
}

// value walks a value: the items of a sequence share its path, as in
// walkSlice.
func (w *walker) value(n *yaml.Node) error {
	switch n.Kind {
	case yaml.MappingNode:
		return w.mapping(n, false)
	case yaml.SequenceNode:
		for _, c := range n.Content {
			var err error
			if c.Kind == yaml.ScalarNode {
				err = w.leaf(c, n)
			} else {
				err = w.value(c)
			}
			if err != nil {
				return err
			}
		}
		return nil
	case yaml.ScalarNode:
		return w.leaf(n, nil)
	}
	return errFallback
}

// leaf is the onLeaves function of sops.Tree.Decrypt for a scalar, an
// item of seq when that is not nil. sops writes a comment among a
// sequence's items as an encrypted item of type comment, which decrypts
// back to a comment: not hashed, and dropped here.
func (w *walker) leaf(n, seq *yaml.Node) error {
	v, err := scalarValue(n)
	if err != nil {
		return errFallback
	}
	if v == nil {
		// walkValue passes a null by, unhashed, whatever the rules say.
		return nil
	}
	if !treeScalar(v) {
		return errFallback
	}
	encrypted := w.encrypted(w.path)
	if encrypted {
		s, ok := v.(string)
		if !ok {
			return &Error{Field: strings.Join(w.path, "."), Err: fmt.Errorf("%w: value is in plain text where the file's rules say encrypted", ErrTampered)}
		}
		v, err = w.c.Decrypt(s, w.key, strings.Join(w.path, ":")+":")
		if err != nil {
			return &Error{Field: w.c.failedAt, Err: w.c.reason}
		}
		if _, ok := v.(sops.Comment); ok && seq != nil {
			w.edits = append(w.edits, edit{node: n, seq: seq})
			return nil
		}
		if !treeScalar(v) {
			return errFallback
		}
		w.edits = append(w.edits, edit{node: n, value: v})
	}
	if !w.md.MACOnlyEncrypted || encrypted {
		b, err := sops.ToBytes(v)
		if err != nil {
			return errFallback
		}
		w.hash.Write(b)
	}
	return nil
}

// treeScalar reports whether v is of a type the library walks as a value
// and its YAML store writes back as a scalar.
func treeScalar(v any) bool {
	switch v.(type) {
	case string, int, float64, bool, time.Time:
		return true
	}
	return false
}

// writeValue writes a decrypted value into its node so that it reads back
// as the same type and value: as the library's store writes it (a string
// that would read as another type is quoted), comments kept.
func writeValue(n *yaml.Node, v any) {
	if s, ok := v.(string); ok && utf8.ValidString(s) {
		n.Tag, n.Value, n.Style = "!!str", s, 0
		if !strings.Contains(s, "\n") && !plainString(s) {
			n.Style = yaml.DoubleQuotedStyle
		}
		return
	}
	var e yaml.Node
	if err := e.Encode(v); err != nil || e.Kind != yaml.ScalarNode {
		// Not reached for the types treeScalar admits.
		n.Tag, n.Value, n.Style = "!!str", fmt.Sprint(v), yaml.DoubleQuotedStyle
		return
	}
	n.Tag, n.Value, n.Style = e.Tag, e.Value, e.Style
}

// plainString reports whether s certainly reads back as the same string
// when written without quotes, by YAML 1.1 and 1.2 readers alike: a letter
// then letters, digits and "_.-", and not a word either reads as a bool or
// null. Anything else is quoted, which never changes what it reads as.
func plainString(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "yes", "n", "no", "on", "off", "true", "false", "null":
		return false
	}
	return true
}

// dropMetadata removes a document's top-level "sops" entries.
func dropMetadata(root *yaml.Node) {
	out := root.Content[:0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != stores.SopsMetadataKey {
			out = append(out, root.Content[i], root.Content[i+1])
		}
	}
	clear(root.Content[len(out):])
	root.Content = out
}

// dropEncryptedComments removes the comment lines sops encrypted.
func dropEncryptedComments(n *yaml.Node) {
	n.HeadComment = plainComments(n.HeadComment)
	n.LineComment = plainComments(n.LineComment)
	n.FootComment = plainComments(n.FootComment)
	for _, c := range n.Content {
		dropEncryptedComments(c)
	}
}

func plainComments(c string) string {
	if !strings.Contains(c, "ENC[") {
		return c
	}
	var kept []string
	for line := range strings.SplitSeq(c, "\n") {
		text := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "#"))
		if !strings.HasPrefix(text, "ENC[AES256_GCM,") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "\n")
}
