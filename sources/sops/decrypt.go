package sops

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/ProtonMail/go-crypto/openpgp"
	pgparmor "github.com/ProtonMail/go-crypto/openpgp/armor"
	sops "github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/logging"
	sopspgp "github.com/getsops/sops/v3/pgp"
	"github.com/getsops/sops/v3/shamir"
	"github.com/getsops/sops/v3/stores"
	"github.com/getsops/sops/v3/stores/dotenv"
	sopsini "github.com/getsops/sops/v3/stores/ini"
	sopsjson "github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"go.yaml.in/yaml/v3"
)

// Decryptor decrypts SOPS files with the age identities and PGP keys it
// was given, in memory. It is safe for concurrent use.
type Decryptor struct {
	keys  keyring
	allow bool
}

// New reads the keys opts names. An error names the key file at fault and
// never quotes it.
func New(opts Options) (*Decryptor, error) {
	silenceOnce.Do(silence)
	k, err := loadKeys(opts)
	if err != nil {
		return nil, err
	}
	return &Decryptor{keys: k, allow: opts.AllowUndecrypted}, nil
}

var silenceOnce sync.Once

// silence mutes the sops library's own loggers: they write to stderr
// directly and would print an unencrypted comment's text. Every outcome is
// reported by this package's errors instead.
func silence() {
	for _, l := range logging.Loggers {
		l.SetOutput(io.Discard)
	}
}

// HasKeys reports whether the decryptor holds any key.
func (d *Decryptor) HasKeys() bool { return len(d.keys.age) > 0 || len(d.keys.pgp) > 0 }

// Decrypt decrypts data, the content of the file name, when its format
// (by name) is one SOPS encrypts and it carries SOPS metadata. Otherwise it
// returns data itself and false. A YAML stream may hold several documents
// each encrypted on its own beside plain ones; each is decrypted alone.
// Errors are *Error.
func (d *Decryptor) Decrypt(name string, data []byte) ([]byte, bool, error) {
	return d.decrypt(name, data, nil)
}

// decrypt is Decrypt that adds each decrypted string value to seen (when
// not nil), so a caller can trace where plaintext ends up.
func (d *Decryptor) decrypt(name string, data []byte, seen *[]string) ([]byte, bool, error) {
	f := FormatOf(name)
	if !mayCarry(f, data) {
		return data, false, nil
	}
	if f == FormatYAML {
		return d.decryptYAML(name, data, seen)
	}
	if !carries(f, data) {
		return data, false, nil
	}
	out, err := d.decryptFile(name, f, data, seen)
	if err != nil {
		return nil, true, err
	}
	return out, true, nil
}

// DecryptDocument decrypts one YAML or JSON manifest document that carries
// SOPS metadata, such as a resource out of a kustomize build (Flux's
// kustomize-controller decrypts there too). The document must keep the
// field order of the encrypted file — kyaml's AsYAML does, a Go map does
// not — because the MAC covers the values in order. It returns YAML, or
// doc itself and false when doc carries no metadata.
func (d *Decryptor) DecryptDocument(name string, doc []byte) ([]byte, bool, error) {
	docs, found := yamlDocs(doc)
	if !found {
		return doc, false, nil
	}
	if len(docs) != 1 {
		return nil, true, &Error{Path: name, Err: fmt.Errorf("%w: want one document, have %d", ErrMalformed, len(docs))}
	}
	out, err := d.decryptYAMLFile(name, docs, doc, nil)
	if err != nil {
		return nil, true, err
	}
	return out, true, nil
}

// IsEncrypted reports whether a decoded object carries SOPS metadata: a
// top-level "sops" map with a mac or lastmodified entry.
func IsEncrypted(obj map[string]any) bool {
	md, ok := obj["sops"].(map[string]any)
	if !ok {
		return false
	}
	for k := range md {
		if isMetadataKey(k) {
			return true
		}
	}
	return false
}

// decryptYAML handles a YAML stream: one file sops encrypted as a whole
// (metadata in the first document, the same in every other), or documents
// encrypted one by one and concatenated, possibly beside plain ones.
func (d *Decryptor) decryptYAML(name string, data []byte, seen *[]string) ([]byte, bool, error) {
	docs, found := yamlDocs(data)
	if !found {
		return data, false, nil
	}
	if wholeFile(docs) {
		out, err := d.decryptYAMLFile(name, docs, data, seen)
		if err != nil {
			return nil, true, err
		}
		return out, true, nil
	}
	var buf bytes.Buffer
	for i, doc := range docs {
		var enc []byte
		var err error
		if yamlMetadata(doc) != nil {
			enc, err = d.decryptYAMLFile(name, []*yaml.Node{doc}, nil, seen)
			if err != nil {
				var e *Error
				if errors.As(err, &e) {
					e.Err = fmt.Errorf("document %d: %w", i+1, e.Err)
				}
				return nil, true, err
			}
		} else if enc, err = encodeYAML(doc); err != nil {
			return nil, true, &Error{Path: name, Err: fmt.Errorf("%w: document %d: cannot re-encode", ErrMalformed, i+1)}
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(enc)
	}
	return buf.Bytes(), true, nil
}

// wholeFile reports whether a stream is one sops file: metadata in every
// document, all with the same MAC.
func wholeFile(docs []*yaml.Node) bool {
	var mac string
	for i, doc := range docs {
		md := yamlMetadata(doc)
		if md == nil {
			return false
		}
		m := ""
		for j := 0; j+1 < len(md.Content); j += 2 {
			if yamlKey(md.Content[j]) == "mac" {
				m = resolve(md.Content[j+1]).Value
			}
		}
		if i == 0 {
			mac = m
		} else if m != mac {
			return false
		}
	}
	return true
}

// decryptYAMLFile decrypts one sops file of YAML, docs as parsed from
// data: by the fast path when it covers them, else by the library. A nil
// data is docs encoded, for a document encrypted on its own.
func (d *Decryptor) decryptYAMLFile(name string, docs []*yaml.Node, data []byte, seen *[]string) ([]byte, error) {
	out, err := d.fastYAML(name, docs, seen)
	if !errors.Is(err, errFallback) {
		return out, err
	}
	if data == nil {
		if data, err = encodeYAML(docs[0]); err != nil {
			return nil, &Error{Path: name, Err: fmt.Errorf("%w: cannot re-encode", ErrMalformed)}
		}
	}
	return d.decryptFile(name, FormatYAML, data, seen)
}

func encodeYAML(doc *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// store is what this package needs of a sops store.
type store interface {
	LoadPlainFile([]byte) (sops.TreeBranches, error)
	EmitPlainFile(sops.TreeBranches) ([]byte, error)
}

// storeFor returns the sops store of a format and how it keeps metadata.
func storeFor(f Format) (store, stores.MetadataOpts) {
	switch f {
	case FormatJSON:
		return sopsjson.NewStore(&config.JSONStoreConfig{}), stores.MetadataOpts{Flatten: stores.MetadataFlattenNone}
	case FormatDotenv:
		return dotenv.NewStore(&config.DotenvStoreConfig{}), stores.MetadataOpts{Flatten: stores.MetadataFlattenFull}
	case FormatINI:
		return sopsini.NewStore(&config.INIStoreConfig{}), stores.MetadataOpts{Flatten: stores.MetadataFlattenBelowTop, EscapeNewlines: true}
	}
	return sopsyaml.NewStore(&config.YAMLStoreConfig{}), stores.MetadataOpts{Flatten: stores.MetadataFlattenNone}
}

// decryptFile decrypts one sops file: load, recover the data key with our
// keys, decrypt the values, verify the MAC, emit the plain file. The
// library's error texts are not passed on: some quote a value. Each
// decrypted string value is added to seen (when not nil).
func (d *Decryptor) decryptFile(name string, f Format, data []byte, seen *[]string) ([]byte, error) {
	st, mdOpts := storeFor(f)
	branches, err := st.LoadPlainFile(data)
	if err != nil {
		return nil, &Error{Path: name, Err: fmt.Errorf("%w: cannot parse it as %s", ErrMalformed, f)}
	}
	branches, md, err := stores.ExtractMetadata(branches, mdOpts)
	if err != nil {
		// Metadata is public (recipients, dates, rules): its errors may show.
		return nil, &Error{Path: name, Err: fmt.Errorf("%w: sops metadata: %v", ErrMalformed, err)}
	}
	tree := sops.Tree{Branches: branches, Metadata: md, FilePath: name}

	key, err := d.dataKey(md)
	if err != nil {
		return nil, &Error{Path: name, Err: err}
	}
	defer clear(key)

	c := &watchCipher{Cipher: aes.NewCipher()}
	mac, err := tree.Decrypt(key, c)
	if err == nil && seen != nil {
		*seen = append(*seen, c.values...)
	}
	if err != nil {
		if c.failedAt == "" {
			return nil, &Error{Path: name, Err: fmt.Errorf("%w: a value cannot be decrypted", ErrTampered)}
		}
		return nil, &Error{Path: name, Field: c.failedAt, Err: c.reason}
	}
	if err := checkMAC(md, key, mac); err != nil {
		return nil, &Error{Path: name, Err: err}
	}
	out, err := st.EmitPlainFile(tree.Branches)
	if err != nil {
		return nil, &Error{Path: name, Err: fmt.Errorf("%w: cannot write the decrypted %s", ErrMalformed, f)}
	}
	return out, nil
}

// watchCipher is the AES cipher that remembers which value failed, so an
// error can name the field without the library's text (which quotes it).
type watchCipher struct {
	sops.Cipher
	failedAt string
	reason   error
	// values are the string values decrypted, in order.
	values []string
}

func (c *watchCipher) Decrypt(ciphertext string, key []byte, additionalData string) (any, error) {
	v, err := c.open(ciphertext, key, additionalData)
	if err != nil {
		// The last failure is the one that stopped the walk: a comment that
		// fails is kept as plain text and the walk goes on.
		c.failedAt = field(additionalData)
		if errors.Is(err, errUnsupportedType) {
			c.reason = fmt.Errorf("%w: value is of a type sops does not decrypt", ErrMalformed)
		} else if strings.HasPrefix(ciphertext, "ENC[AES256_GCM,") {
			c.reason = fmt.Errorf("%w: value fails authentication", ErrTampered)
		} else {
			c.reason = fmt.Errorf("%w: value is in plain text where the file's rules say encrypted", ErrTampered)
		}
	}
	// An empty value reveals nothing (and the library "decrypts" an empty
	// comment to one).
	if s, ok := v.(string); ok && err == nil && s != "" {
		c.values = append(c.values, s)
	}
	return v, err
}

var errUnsupportedType = errors.New("unsupported type")

// open is the library's Decrypt. It panics on a value of type "bytes"
// (which it keys a map by), and the type is not authenticated: anyone who
// can edit a file could stop steward by retyping one of its values.
func (c *watchCipher) open(ciphertext string, key []byte, additionalData string) (v any, err error) {
	defer func() {
		if recover() != nil {
			v, err = nil, errUnsupportedType
		}
	}()
	return c.Cipher.Decrypt(ciphertext, key, additionalData)
}

// field turns sops's additional data ("data:password:") into a field path.
func field(ad string) string {
	return strings.ReplaceAll(strings.TrimSuffix(ad, ":"), ":", ".")
}

// dataKey recovers the file's data key from its key groups with the keys
// held: one part per group, combined by Shamir's scheme when the file has
// several groups.
func (d *Decryptor) dataKey(md sops.Metadata) ([]byte, error) {
	var parts [][]byte
	var recipients []string
	for _, group := range md.KeyGroups {
		for _, k := range group {
			recipients = append(recipients, describe(k))
			part, ok := d.tryKey(k)
			if ok {
				parts = append(parts, part)
				break
			}
		}
	}
	defer func() {
		for _, p := range parts {
			clear(p)
		}
	}()
	need := 1
	if len(md.KeyGroups) > 1 {
		need = md.ShamirThreshold
		if need <= 0 {
			need = len(md.KeyGroups)
		}
	}
	if len(parts) < need || len(parts) == 0 {
		slices.Sort(recipients)
		recipients = slices.Compact(recipients)
		held := "none given"
		if d.HasKeys() {
			held = fmt.Sprintf("%d age, %d PGP", len(d.keys.age), len(d.keys.pgp))
		}
		return nil, fmt.Errorf("%w: encrypted for %s; keys held: %s", ErrNoKey, strings.Join(recipients, ", "), held)
	}
	if len(md.KeyGroups) == 1 {
		return slices.Clone(parts[0]), nil
	}
	key, err := shamir.Combine(parts)
	if err != nil {
		return nil, fmt.Errorf("%w: key groups do not combine", ErrMalformed)
	}
	return key, nil
}

// describe names a master key by its public part, for errors.
func describe(k interface{ TypeToIdentifier() string }) string {
	switch k := k.(type) {
	case *sopsage.MasterKey:
		return "age " + k.Recipient
	case *sopspgp.MasterKey:
		return "pgp " + k.Fingerprint
	}
	return k.TypeToIdentifier() + " (not supported: age and PGP only)"
}

// tryKey decrypts one master key's share of the data key with the keys
// held, without the library's key sources (which read the environment,
// run gpg and prompt on a terminal).
func (d *Decryptor) tryKey(k any) ([]byte, bool) {
	switch k := k.(type) {
	case *sopsage.MasterKey:
		if len(d.keys.age) == 0 {
			return nil, false
		}
		b, err := openAge(k.EncryptedKey, d.keys.age)
		return b, err == nil
	case *sopspgp.MasterKey:
		if len(d.keys.pgp) == 0 {
			return nil, false
		}
		block, err := pgparmor.Decode(strings.NewReader(k.EncryptedKey))
		if err != nil {
			return nil, false
		}
		md, err := openpgp.ReadMessage(block.Body, d.keys.pgp, nil, nil)
		if err != nil {
			return nil, false
		}
		b, err := io.ReadAll(md.UnverifiedBody)
		return b, err == nil
	}
	return nil, false
}
