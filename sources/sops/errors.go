package sops

import "errors"

// The reasons a SOPS file is refused. Callers branch on them with errors.Is;
// an *Error carries the file and, when one value is at fault, its field.
var (
	// ErrNoKey: none of the keys steward was given opens the file's data
	// key (no keys at all, another recipient's key, or a KMS-only file).
	ErrNoKey = errors.New("no key can decrypt it")
	// ErrTampered: the file changed after it was encrypted — the MAC does
	// not match, a value fails authentication, or a value the file's rules
	// say is encrypted is in plain text.
	ErrTampered = errors.New("changed after it was encrypted")
	// ErrMalformed: the file carries SOPS metadata but cannot be read as a
	// SOPS file of its format.
	ErrMalformed = errors.New("malformed SOPS file")
)

// Error is a SOPS file steward could not decrypt. Its text names the file
// and never holds key material, the data key or decrypted values.
type Error struct {
	// Path is the file's name in the tree.
	Path string
	// Field is the value at fault within the document (data.password), ""
	// when the whole file is.
	Field string
	// Err wraps ErrNoKey, ErrTampered or ErrMalformed with a detail.
	Err error
}

func (e *Error) Error() string {
	s := "sops: " + e.Path
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }
