package reconcile

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
)

// Decrypter opens the encrypted files of a revision's tree in memory, so
// generators read them in plain text and nothing decrypted touches the
// disk; cmd wires sources/sops. The keys stay with the Decrypter: a
// generator isolated in a child process reads the tree through steward.
type Decrypter interface {
	// Decrypting wraps one generation's tree.
	Decrypting(tree fs.FS) DecryptingTree
}

// DecryptingTree is one generation's tree, its encrypted files decrypted
// as they are read. It keeps the abilities of the tree it wraps (ReadFile,
// Stat, Lstat, ReadLink, ReadDir, Hash of the ciphertext).
type DecryptingTree interface {
	fs.FS
	// Decrypted names the files decrypted so far.
	Decrypted() []string
	// Undecrypted describes each file passed through still encrypted
	// because no key opens it (only when the Decrypter allows that: verify
	// without keys), naming the file.
	Undecrypted() []string
	// Plaintexts are the values decrypted so far: the engine refuses an
	// object that would show one.
	Plaintexts() []string
	// Tree is the tree it wraps, SOPS files as stored (a command generator
	// none of whose files decrypts materialises it as it is).
	Tree() fs.FS
}

// minTraced is the length from which a decrypted value is looked for in
// the generated objects: shorter ones ("true", "80", "db") are too common
// to be told apart from the rest of a manifest.
const minTraced = 4

// DecryptedValueError is a generated object holding a value decrypted from
// a SOPS file where no printer masks it.
type DecryptedValueError struct {
	Object ObjectID
	// Files are the files the unit decrypted: the value came from one.
	Files []string
}

func (e *DecryptedValueError) Error() string {
	return fmt.Sprintf("%s holds a value decrypted from %s where it would be shown: put it in a Secret or a File with sensitive: true",
		e.Object, strings.Join(e.Files, ", "))
}

// EncryptedObjectError is a generated object that still carries SOPS
// metadata: steward would apply ciphertext.
type EncryptedObjectError struct {
	Object ObjectID
}

func (e *EncryptedObjectError) Error() string {
	return fmt.Sprintf("%s still carries SOPS metadata: it was not decrypted (steward decrypts the YAML, JSON, dotenv and INI files generators read through the repository tree, with the keys of --sops-age-keys or --sops-pgp-keyring; a command generator sees decrypted those under its unit's path and extraPaths)", e.Object)
}

// checkDecrypted refuses objects that show a decrypted value outside what
// every printer masks, and objects still carrying SOPS metadata unless
// their files were passed through for want of keys (undecrypted).
func checkDecrypted(objs []*Object, files, plaintexts []string, undecrypted bool) error {
	var traced []string
	for _, p := range plaintexts {
		if len(p) >= minTraced {
			traced = append(traced, p)
		}
	}
	for _, o := range objs {
		if !undecrypted && carriesSOPS(o) {
			return &EncryptedObjectError{Object: IDOf(o)}
		}
		if len(traced) == 0 || IsSensitive(o) {
			continue
		}
		if holdsAny(o.Object, traced) {
			return &DecryptedValueError{Object: IDOf(o), Files: files}
		}
	}
	return nil
}

// holdsAny reports whether a string in v contains one of values: one walk
// of v, however many values.
func holdsAny(v any, values []string) bool {
	switch x := v.(type) {
	case string:
		if len(x) < minTraced {
			return false
		}
		for _, s := range values {
			if strings.Contains(x, s) {
				return true
			}
		}
	case map[string]any:
		for _, e := range x {
			if holdsAny(e, values) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if holdsAny(e, values) {
				return true
			}
		}
	}
	return false
}

// carriesSOPS reports whether o has SOPS metadata at its top: a "sops" map
// with a mac or lastmodified entry.
func carriesSOPS(o *Object) bool {
	md, ok := o.Object["sops"].(map[string]any)
	if !ok {
		return false
	}
	_, mac := md["mac"]
	_, lm := md["lastmodified"]
	return mac || lm
}

// Sensitive reports whether the unit's generation decrypted a file or had
// a sensitive input: its Secrets and sensitive Files may hold their values.
func (r Rendered) Sensitive() bool { return len(r.Decrypted) > 0 || len(r.Inputs.Secrets()) > 0 }

// OutputObjects are the unit's objects as written to files (output:,
// build -o) and compared with them: a sensitive unit's Secrets and
// sensitive Files masked, since nothing decrypted and no sensitive input
// is ever written.
func (r Rendered) OutputObjects() []*Object {
	if !r.Sensitive() {
		return r.Objects
	}
	return MaskObjects(r.Objects)
}

// MaskObjects returns objs with every sensitive object (IsSensitive)
// replaced by a copy whose values are masked (MaskSame); the others are
// returned as they are.
func MaskObjects(objs []*Object) []*Object {
	out := make([]*Object, len(objs))
	for i, o := range objs {
		out[i] = o
		if IsSensitive(o) {
			_, out[i] = MaskPair(nil, o)
		}
	}
	return out
}

// maskError returns err with every decrypted value in its text masked
// (MaskSame); errors.Is and errors.As still see err.
func maskError(err error, plaintexts []string) error {
	msg := err.Error()
	masked := msg
	for _, p := range plaintexts {
		if p != "" {
			masked = strings.ReplaceAll(masked, p, MaskSame)
		}
	}
	if masked == msg {
		return err
	}
	return &maskedError{msg: masked, err: err}
}

type maskedError struct {
	msg string
	err error
}

func (e *maskedError) Error() string { return e.msg }
func (e *maskedError) Unwrap() error { return e.err }

// maskingHandler masks the decrypted values in what a generator logs (a
// helm warning can quote a value): its message and every string attribute.
type maskingHandler struct {
	h      slog.Handler
	values func() []string
}

func (m *maskingHandler) Enabled(ctx context.Context, l slog.Level) bool { return m.h.Enabled(ctx, l) }

func (m *maskingHandler) Handle(ctx context.Context, r slog.Record) error {
	values := m.values()
	mask := func(s string) string {
		for _, v := range values {
			if v != "" {
				s = strings.ReplaceAll(s, v, MaskSame)
			}
		}
		return s
	}
	out := slog.NewRecord(r.Time, r.Level, mask(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(maskAttr(a, mask))
		return true
	})
	return m.h.Handle(ctx, out)
}

func maskAttr(a slog.Attr, mask func(string) string) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, mask(v.String()))
	case slog.KindGroup:
		group := v.Group()
		attrs := make([]any, len(group))
		for i, g := range group {
			attrs[i] = maskAttr(g, mask)
		}
		return slog.Group(a.Key, attrs...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, mask(err.Error()))
		}
		return slog.String(a.Key, mask(v.String()))
	}
	return a
}

// WithAttrs masks the attributes given up front too (With).
func (m *maskingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &attrsMasking{m: m, attrs: as}
}

func (m *maskingHandler) WithGroup(name string) slog.Handler {
	return &maskingHandler{h: m.h.WithGroup(name), values: m.values}
}

// attrsMasking holds With attributes until a record is handled, when the
// values known by then mask them: a file decrypted after With still counts.
type attrsMasking struct {
	m     *maskingHandler
	attrs []slog.Attr
}

func (a *attrsMasking) Enabled(ctx context.Context, l slog.Level) bool { return a.m.Enabled(ctx, l) }

func (a *attrsMasking) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	out.AddAttrs(a.attrs...)
	r.Attrs(func(at slog.Attr) bool {
		out.AddAttrs(at)
		return true
	})
	return a.m.Handle(ctx, out)
}

func (a *attrsMasking) WithAttrs(as []slog.Attr) slog.Handler {
	return &attrsMasking{m: a.m, attrs: append(append([]slog.Attr(nil), a.attrs...), as...)}
}

func (a *attrsMasking) WithGroup(name string) slog.Handler {
	// Attributes before the group stay outside it: apply them now.
	return &maskingHandler{h: a.m.h.WithAttrs(a.attrs).WithGroup(name), values: a.m.values}
}
