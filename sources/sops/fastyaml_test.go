package sops

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	yamlv2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

// fastDocs are plain YAML files the fast path must decrypt exactly as the
// library does, once sops encrypted them under each of fastRules.
var fastDocs = []struct{ name, yaml string }{
	{"secret", `apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
  labels: {app: db, tier: "1"}
type: Opaque
stringData:
  password: s3cr3t-pa55
  port: "5432"
  hex: "0x1F"
  exp: "1e3"
  yes: "yes"
  truthy: "true"
  off: "Off"
  nul: "null"
  tilde: "~"
  empty: ""
  spaced: "  leading and trailing  "
  colon: "a: b"
  hash: "a #b"
  unicode: "héllo wörld ✓"
  tab: "a\tb"
  date: "2024-01-02"
  base60: "1:20"
  multi: |
    line one
    line two
  folded: >
    folded text
    continues
  trailing: "ends with a newline\n"
data:
  token: c2VjcmV0LXRva2Vu
`},
	{"typed", `config:
  replicas: 3
  ratio: 1.5
  big: 1e10
  neg: -7
  octal: 0o17
  inf: .inf
  enabled: true
  disabled: false
  nothing: null
  missing:
  when: 2024-01-02
  stamp: 2024-01-02T03:04:05.123Z
  list: [1, two, 3.5, false, null]
  nested:
    - name: a
      secret: x1
    - name: b
      items: [[1, 2], [three]]
  emptymap: {}
  emptylist: []
stringData:
  password: s3cr3t-typed
`},
	{"comments", `# head comment of the document
apiVersion: v1 # line comment
kind: Secret
stringData:
  # comment above password
  password: s3cr3t-commented # inline
  list:
    # comment in list
    - a
    - b # inline item
  # foot comment
data:
  key: dmFsdWU= # trailing
# last words
`},
	{"suffixes", `user_unencrypted: admin
password: s3cr3t-suffix
api_secret: s3cr3t-api
api_plain: visible
nested_unencrypted:
  inner: stays-plain
nested_secret:
  inner: s3cr3t-nested
list_secret:
  - s3cr3t-item
  - {deep: s3cr3t-deep}
`},
	{"stream", `a: s3cr3t-doc1
stringData: {password: s3cr3t-doc1b}
---
b: s3cr3t-doc2
data: [1, 2, {password: s3cr3t-doc2b}]
`},
}

// fastRules are the encryption rules of .sops.yaml, one a file.
var fastRules = []struct {
	name string
	e    encryption
}{
	{"default suffix", encryption{}},
	{"encrypted_regex", encryption{encryptedRegex: "^(data|stringData|password|list|config)$"}},
	{"unencrypted_regex", encryption{unencryptedRegex: "^(metadata|kind|apiVersion|user_unencrypted|a)$"}},
	{"encrypted_suffix", encryption{encryptedSuffix: "_secret"}},
	{"unencrypted_suffix", encryption{unencryptedSuffix: "_plain"}},
	{"mac_only_encrypted", encryption{encryptedRegex: "^(data|stringData)$", macOnlyEncrypted: true}},
	{"a regex that does not compile", encryption{encryptedRegex: "(data"}},
}

// fastSecrets are the plaintexts of fastDocs that an error must not quote.
var fastSecrets = []string{"s3cr3t-", "c2VjcmV0LXRva2Vu", "dmFsdWU="}

// TestFastYAMLMatchesLibrary encrypts each document under each rule with
// the sops library and checks the fast path decrypts it exactly as the
// library path does — the same values, types and plaintexts seen — and
// takes the same decision on each tampered variant.
func TestFastYAMLMatchesLibrary(t *testing.T) {
	key := newAgeKey(t)
	d := newDecryptor(t, Options{AgeKeyFiles: []string{key.file}})
	for _, doc := range fastDocs {
		for _, rule := range fastRules {
			t.Run(doc.name+"/"+rule.name, func(t *testing.T) {
				e := rule.e
				e.age = []string{key.recipient}
				enc := encrypt(t, "f.yaml", []byte(doc.yaml), e)
				if !fastCovers(d, enc) || !checkQuickMetadata(t, enc) {
					t.Fatalf("the fast path does not cover:\n%s", enc)
				}
				out := compareDecrypt(t, d, "apps/f.yaml", enc)
				if out == nil {
					t.Fatal("refused the file as encrypted")
				}
				if want := decodeAll(t, []byte(doc.yaml)); !reflect.DeepEqual(decodeAll(t, out), want) {
					t.Errorf("decrypted:\n%s\nwant the content of:\n%s", out, doc.yaml)
				}
				variants := tampered(t, enc)
				if len(variants) < 2 {
					t.Fatalf("only %d tampered variants", len(variants))
				}
				for name, variant := range variants {
					t.Run(name, func(t *testing.T) {
						accepted := compareDecrypt(t, d, "apps/f.yaml", variant) != nil
						// mac_only_encrypted leaves plain values out of the MAC.
						if want := name == "plain value changed" && e.macOnlyEncrypted; accepted != want {
							t.Errorf("accepted = %v, want %v", accepted, want)
						}
					})
				}
			})
		}
	}
}

// TestFastYAMLStream: a stream of documents each encrypted on its own,
// beside plain ones, goes through the fast path document by document.
func TestFastYAMLStream(t *testing.T) {
	key := newAgeKey(t)
	d := newDecryptor(t, Options{AgeKeyFiles: []string{key.file}})
	e := encryption{age: []string{key.recipient}, encryptedRegex: "^(data|stringData)$"}
	one := encrypt(t, "s.yaml", []byte(fastDocs[0].yaml), e)
	two := encrypt(t, "s.yaml", []byte(fastDocs[1].yaml), encryption{age: []string{key.recipient}})
	stream := slices.Concat([]byte("kind: ConfigMap\ndata: {plain: value}\n---\n"), one, []byte("---\n"), two)
	out := compareDecrypt(t, d, "s.yaml", stream)
	want := append(decodeAll(t, []byte("kind: ConfigMap\ndata: {plain: value}\n")), decodeAll(t, []byte(fastDocs[0].yaml))...)
	want = append(want, decodeAll(t, []byte(fastDocs[1].yaml))...)
	if got := decodeAll(t, out); !reflect.DeepEqual(got, want) {
		t.Errorf("decrypted:\n%s", out)
	}
	// The second encrypted document tampered: the error names it.
	bad := slices.Concat([]byte("kind: ConfigMap\n---\n"), one, []byte("---\n"), tamperMAC(t, two))
	_, _, err := d.Decrypt("s.yaml", bad)
	if !errors.Is(err, ErrTampered) || !strings.Contains(err.Error(), "document 3") {
		t.Errorf("err = %v, want document 3 tampered", err)
	}
	compareDecrypt(t, d, "s.yaml", bad)
}

// TestFastYAMLFallback: what the fast path leaves to the library is
// decrypted by the library, with the same result.
func TestFastYAMLFallback(t *testing.T) {
	key := newAgeKey(t)
	d := newDecryptor(t, Options{AgeKeyFiles: []string{key.file}})
	macOnly := encryption{age: []string{key.recipient}, encryptedRegex: "^stringData$", macOnlyEncrypted: true}
	secret := encrypt(t, "f.yaml", []byte(fastDocs[0].yaml), macOnly)
	tests := []struct {
		name string
		data []byte
	}{
		// Plain values edited after encryption, which mac_only_encrypted
		// allows.
		{"anchor and alias", append(bytes.Clone(secret), "extra: &x {a: 1}\nagain: *x\n"...)},
		{"merge key", append(bytes.Clone(secret), "base: &b {a: 1}\nmerged: {<<: *b, c: 2}\n"...)},
		{"explicit tag", append(bytes.Clone(secret), "tagged: !!str 123\n"...)},
		{"integer key", append(bytes.Clone(secret), "7: seven\n"...)},
		{"duplicate key", append(bytes.Clone(secret), "kind: Other\n"...)},
		{"beyond int64", append(bytes.Clone(secret), "huge: 18446744073709551615\n"...)},
		{"encrypted_comment_regex", encrypt(t, "f.yaml",
			[]byte("a: plain\n# sops:enc\nb: s3cr3t-marked\nc: also-plain\n"),
			encryption{age: []string{key.recipient}, encryptedCommentRegex: "sops:enc"})},
		{"unencrypted_comment_regex", encrypt(t, "f.yaml",
			[]byte("# sops:plain\na: visible\nb: s3cr3t-other\n"),
			encryption{age: []string{key.recipient}, unencryptedCommentRegex: "sops:plain"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if fastCovers(d, tt.data) {
				t.Fatal("the fast path should leave this file to the library")
			}
			compareDecrypt(t, d, "f.yaml", tt.data)
		})
	}
}

// TestFastYAMLComments: plain comments stay, encrypted ones are dropped,
// neither quoted in ciphertext nor in plain text.
func TestFastYAMLComments(t *testing.T) {
	key := newAgeKey(t)
	d := newDecryptor(t, Options{AgeKeyFiles: []string{key.file}})
	plain := "# about the file\nstringData:\n  # the database password\n  password: s3cr3t-c # rotated yearly\nmetadata:\n  name: db # plain comment\n"
	enc := encrypt(t, "f.yaml", []byte(plain), encryption{age: []string{key.recipient}, encryptedRegex: "^stringData$"})
	if !bytes.Contains(enc, []byte("type:comment]")) || bytes.Contains(enc, []byte("rotated yearly")) {
		t.Fatalf("want the comments under stringData encrypted:\n%s", enc)
	}
	out := compareDecrypt(t, d, "f.yaml", enc)
	for _, gone := range []string{"ENC[", "database password", "rotated yearly"} {
		if bytes.Contains(out, []byte(gone)) {
			t.Errorf("decrypted file holds %q:\n%s", gone, out)
		}
	}
	if !bytes.Contains(out, []byte("# plain comment")) {
		t.Errorf("the plain comment is gone:\n%s", out)
	}
}

// TestRetypedValue: a value whose (unauthenticated) type is changed to
// bytes makes the library panic; it is refused, naming the field.
func TestRetypedValue(t *testing.T) {
	key := newAgeKey(t)
	d := newDecryptor(t, Options{AgeKeyFiles: []string{key.file}})
	enc := encrypt(t, "f.yaml", []byte("stringData:\n  password: s3cr3t-retyped\n"), encryption{age: []string{key.recipient}})
	bad := replaceOnce(t, enc, "type:str]", "type:bytes]")
	_, _, err := d.Decrypt("f.yaml", bad)
	var e *Error
	if !errors.As(err, &e) || e.Field != "stringData.password" || !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want stringData.password refused as malformed", err)
	}
	compareDecrypt(t, d, "f.yaml", bad)
}

// FuzzFastYAML encrypts the fuzzed document with the library under one of
// fastRules, tampers with it one way or none, and checks the fast path and
// the library path agree.
func FuzzFastYAML(f *testing.F) {
	for i, doc := range fastDocs {
		f.Add([]byte(doc.yaml), uint8(i), uint8(i))
	}
	f.Add([]byte("a: [x, {b: 1}]\n# c\nd: \"2\"\n"), uint8(5), uint8(0))
	key := newAgeKey(f)
	d := newDecryptor(f, Options{AgeKeyFiles: []string{key.file}})
	f.Fuzz(func(t *testing.T, plain []byte, rule, tamper uint8) {
		e := fastRules[int(rule)%len(fastRules)].e
		e.age = []string{key.recipient}
		enc, err := tryEncrypt("f.yaml", plain, e)
		if err != nil || !Detect(FormatYAML, enc) {
			return
		}
		variants := tampered(t, enc)
		names := slices.Sorted(func(yield func(string) bool) {
			for k := range variants {
				if !yield(k) {
					return
				}
			}
		})
		data := enc
		if n := int(tamper) % (len(names) + 1); n < len(names) {
			data = variants[names[n]]
		}
		compareDecrypt(t, d, "f.yaml", data)
	})
}

// FuzzFastYAMLBytes mutates encrypted files byte by byte: the two paths
// take the same decision on whatever comes of it.
func FuzzFastYAMLBytes(f *testing.F) {
	key := newAgeKey(f)
	d := newDecryptor(f, Options{AgeKeyFiles: []string{key.file}})
	for i, doc := range fastDocs {
		e := fastRules[i%len(fastRules)].e
		e.age = []string{key.recipient}
		f.Add(encrypt(f, "f.yaml", []byte(doc.yaml), e))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareDecrypt(t, d, "f.yaml", data)
	})
}

// compareDecrypt decrypts data with Decrypt (the fast path where it
// applies) and with the library path as it was before the fast path, and
// fails unless both accept with the same content and plaintexts seen, or
// both refuse for the same reason. It returns the decrypted file, nil when
// refused or not SOPS.
func compareDecrypt(t testing.TB, d *Decryptor, name string, data []byte) []byte {
	t.Helper()
	checkQuickMetadata(t, data)
	var seen []string
	out, isSOPS, err := d.decrypt(name, data, &seen)
	libOut, libSOPS, libSeen, libErr := libraryDecrypt(d, name, data)
	if isSOPS != libSOPS {
		t.Fatalf("SOPS file: fast path %v, library %v", isSOPS, libSOPS)
	}
	if (err == nil) != (libErr == nil) {
		t.Fatalf("fast path err = %v, library err = %v\n%s", err, libErr, data)
	}
	if err != nil {
		for _, reason := range []error{ErrTampered, ErrNoKey, ErrMalformed} {
			if errors.Is(err, reason) != errors.Is(libErr, reason) {
				t.Fatalf("fast path err = %v, library err = %v", err, libErr)
			}
		}
		var e, le *Error
		if !errors.As(err, &e) || !errors.As(libErr, &le) || e.Path != name {
			t.Fatalf("err = %v, want an *Error naming %s", err, name)
		}
		if le.Field != "" && e.Field != le.Field {
			t.Errorf("field = %q, the library's %q", e.Field, le.Field)
		}
		for _, s := range fastSecrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error quotes a value: %v", err)
			}
		}
		return nil
	}
	if !isSOPS {
		if !bytes.Equal(out, data) {
			t.Fatal("a file that is not SOPS changed")
		}
		return nil
	}
	if got, want := decodeAll(t, out), decodeAll(t, libOut); !reflect.DeepEqual(got, want) {
		t.Fatalf("fast path:\n%s\nlibrary:\n%s", out, libOut)
	}
	if got, want := decodeAllV2(t, out), decodeAllV2(t, libOut); !reflect.DeepEqual(got, want) {
		t.Fatalf("as YAML 1.1, fast path:\n%s\nlibrary:\n%s", out, libOut)
	}
	if !slices.Equal(seen, libSeen) {
		t.Fatalf("plaintexts seen: fast path %d, library %d", len(seen), len(libSeen))
	}
	return out
}

// checkQuickMetadata fails when quickMetadata reads a document's metadata
// otherwise than stores.ExtractMetadata does. It reports whether it read
// any.
func checkQuickMetadata(t testing.TB, data []byte) bool {
	t.Helper()
	docs, _ := yamlDocs(data)
	read := false
	for _, doc := range docs {
		md := yamlMetadata(doc)
		if md == nil || !covered(doc) {
			continue
		}
		quick, ok := quickMetadata(md)
		if !ok {
			continue
		}
		read = true
		lib, err := libraryMetadata(doc)
		if err != nil || !reflect.DeepEqual(quick, lib) {
			t.Fatalf("quickMetadata:\n%#v\nExtractMetadata (err %v):\n%#v", quick, err, lib)
		}
	}
	return read
}

// libraryDecrypt is Decrypt of YAML by the library alone, as it was
// before the fast path.
func libraryDecrypt(d *Decryptor, name string, data []byte) ([]byte, bool, []string, error) {
	var seen []string
	if !mayCarry(FormatYAML, data) {
		return data, false, nil, nil
	}
	docs, found := yamlDocs(data)
	if !found {
		return data, false, nil, nil
	}
	if wholeFile(docs) {
		out, err := d.decryptFile(name, FormatYAML, data, &seen)
		return out, true, seen, err
	}
	var buf bytes.Buffer
	for i, doc := range docs {
		enc, err := encodeYAML(doc)
		if err != nil {
			return nil, true, nil, &Error{Path: name, Err: fmt.Errorf("%w: document %d: cannot re-encode", ErrMalformed, i+1)}
		}
		if yamlMetadata(doc) != nil {
			if enc, err = d.decryptFile(name, FormatYAML, enc, &seen); err != nil {
				return nil, true, nil, err
			}
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(enc)
	}
	return buf.Bytes(), true, seen, nil
}

// fastCovers reports whether the fast path takes every encrypted document
// of data (it leaves data unchanged either way).
func fastCovers(d *Decryptor, data []byte) bool {
	docs, _ := yamlDocs(data)
	sets := [][]*yaml.Node{docs}
	if !wholeFile(docs) {
		sets = nil
		for _, doc := range docs {
			if yamlMetadata(doc) != nil {
				sets = append(sets, []*yaml.Node{doc})
			}
		}
	}
	for _, set := range sets {
		if _, err := d.fastYAML("f.yaml", set, nil); errors.Is(err, errFallback) {
			return false
		}
	}
	return true
}

// tampered returns variants of an encrypted file: an encrypted value
// changed, put in plain text, moved to another field; a plain value
// changed; the MAC changed.
func tampered(t testing.TB, enc []byte) map[string][]byte {
	t.Helper()
	docs, _ := yamlDocs(enc)
	if docs == nil {
		return nil
	}
	out := map[string][]byte{}
	variant := func(name string, change func(docs []*yaml.Node) bool) {
		docs, _ := yamlDocs(enc)
		if change(docs) {
			out[name] = encodeDocs(t, docs)
		}
	}
	variant("encrypted value changed", func(docs []*yaml.Node) bool {
		n := findScalar(docs, true, 0)
		if n == nil {
			return false
		}
		i := strings.Index(n.Value, "data:") + len("data:")
		c := byte('A')
		if n.Value[i] == 'A' {
			c = 'B'
		}
		n.Value = n.Value[:i] + string(c) + n.Value[i+1:]
		return true
	})
	variant("encrypted value in plain text", func(docs []*yaml.Node) bool {
		n := findScalar(docs, true, 0)
		if n == nil {
			return false
		}
		n.Value, n.Tag, n.Style = "s3cr3t-planted", "!!str", 0
		return true
	})
	variant("encrypted value changed to a number", func(docs []*yaml.Node) bool {
		n := findScalar(docs, true, 0)
		if n == nil {
			return false
		}
		n.Value, n.Tag, n.Style = "42", "!!int", 0
		return true
	})
	variant("encrypted values swapped", func(docs []*yaml.Node) bool {
		a, b := findScalar(docs, true, 0), findScalar(docs, true, 1)
		if a == nil || b == nil {
			return false
		}
		a.Value, b.Value = b.Value, a.Value
		return true
	})
	variant("plain value changed", func(docs []*yaml.Node) bool {
		n := findScalar(docs, false, 0)
		if n == nil {
			return false
		}
		n.Value, n.Tag, n.Style = n.Value+"-edited", "!!str", yaml.DoubleQuotedStyle
		return true
	})
	variant("MAC changed", func(docs []*yaml.Node) bool {
		md := yamlMetadata(docs[0])
		for i := 0; i+1 < len(md.Content); i += 2 {
			if md.Content[i].Value == "mac" {
				v := md.Content[i+1]
				j := strings.Index(v.Value, "data:") + len("data:") + 3
				if j < len("data:")+3 || j >= len(v.Value) {
					return false
				}
				c := byte('A')
				if v.Value[j] == 'A' {
					c = 'B'
				}
				v.Value = v.Value[:j] + string(c) + v.Value[j+1:]
				return true
			}
		}
		return false
	})
	return out
}

// findScalar returns the nth scalar value outside the metadata that is
// encrypted (or plain), nil when there is none.
func findScalar(docs []*yaml.Node, encrypted bool, nth int) *yaml.Node {
	var found []*yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		switch n.Kind {
		case yaml.ScalarNode:
			isEnc := strings.HasPrefix(n.Value, "ENC[AES256_GCM,data:")
			if isEnc == encrypted && (encrypted || n.Tag == "!!str") {
				found = append(found, n)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value != "sops" {
					walk(n.Content[i+1])
				}
			}
		default:
			for _, c := range n.Content {
				walk(c)
			}
		}
	}
	for _, d := range docs {
		walk(d)
	}
	if nth < len(found) {
		return found[nth]
	}
	return nil
}

func encodeDocs(t testing.TB, docs []*yaml.Node) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodeAll decodes every document of a stream, as the generators do.
func decodeAll(t testing.TB, data []byte) []any {
	t.Helper()
	var out []any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("decode: %v\n%s", err, data)
			}
			return out
		}
		out = append(out, v)
	}
}

// decodeAllV2 decodes as a YAML 1.1 reader does ("yes" is a bool there).
func decodeAllV2(t testing.TB, data []byte) []any {
	t.Helper()
	var out []any
	dec := yamlv2.NewDecoder(bytes.NewReader(data))
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("decode as YAML 1.1: %v\n%s", err, data)
			}
			return out
		}
		out = append(out, v)
	}
}

// TestQuickMetadataPGP: metadata with PGP and age keys in one group reads
// as ExtractMetadata reads it, and the file decrypts with the PGP key.
func TestQuickMetadataPGP(t *testing.T) {
	pk, ak := newPGPKey(t), newAgeKey(t)
	enc := encrypt(t, "f.yaml", []byte(fastDocs[0].yaml), encryption{age: []string{ak.recipient}, pgp: []pgpKey{pk}})
	if !checkQuickMetadata(t, enc) {
		t.Fatalf("quickMetadata does not read:\n%s", enc)
	}
	d := newDecryptor(t, Options{PGPKeyrings: []string{pk.secring}})
	if compareDecrypt(t, d, "f.yaml", enc) == nil {
		t.Fatal("refused")
	}
}
