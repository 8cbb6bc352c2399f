package sops

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
)

// FS presents a read-only tree with every SOPS-encrypted YAML, JSON,
// dotenv and INI file decrypted in memory as it is opened or read, and
// records which files it decrypted — so the engine can mark what they
// produce sensitive, keep it out of the disk cache and mask it in output —
// and which it could not. Everything else passes through untouched: other
// formats are not even read, plain files of those formats come back byte
// for byte. Directories, Stat, Lstat and ReadLink pass through, so a
// confinement check on the tree keeps working. One FS serves one
// generation: it keeps the plaintext of what it decrypted until dropped.
//
// Wrap the outermost tree (over the engine's recording tree), so the
// cache's digests are taken of the ciphertext; Hash does the same.
type FS struct {
	d    *Decryptor
	tree fs.FS

	mu      sync.Mutex
	files   map[string]*entry
	skipped map[string]*Error
}

var (
	_ fs.ReadFileFS = (*FS)(nil)
	_ fs.ReadDirFS  = (*FS)(nil)
	_ fs.StatFS     = (*FS)(nil)
	_ fs.ReadLinkFS = (*FS)(nil)
)

// entry is one SOPS file's outcome, decrypted at most once.
type entry struct {
	once sync.Once
	data []byte
	err  error
	// values are the string values the file's decryption revealed.
	values []string
}

// FS wraps tree.
func (d *Decryptor) FS(tree fs.FS) *FS {
	return &FS{d: d, tree: tree, files: map[string]*entry{}, skipped: map[string]*Error{}}
}

// Decrypted returns the files decrypted so far, sorted.
func (f *FS) Decrypted() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for name, e := range f.files {
		// An entry is added before it is decrypted; only finished ones count.
		if e.data != nil {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// Plaintexts returns the string values decrypted so far (those the files'
// rules encrypted, not their plain neighbours), each once, sorted: what
// must not be shown wherever it ends up.
func (f *FS) Plaintexts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	seen := map[string]bool{}
	for _, e := range f.files {
		for _, v := range e.values {
			seen[v] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// Undecrypted returns the files passed through still encrypted because no
// key opened them (Options.AllowUndecrypted), sorted by path. Each is an
// *Error wrapping ErrNoKey that names the file and its recipients.
func (f *FS) Undecrypted() []*Error {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Collect(maps.Values(f.skipped))
	slices.SortFunc(out, func(a, b *Error) int { return strings.Compare(a.Path, b.Path) })
	return out
}

// Tree returns the wrapped tree, encrypted files as they are.
func (f *FS) Tree() fs.FS { return f.tree }

// content returns what a reader of name sees: raw itself, or its
// decryption when it is a SOPS file.
func (f *FS) content(name string, raw []byte) ([]byte, error) {
	if !mayCarry(FormatOf(name), raw) {
		return raw, nil
	}
	f.mu.Lock()
	e, ok := f.files[name]
	if !ok {
		e = &entry{}
		f.files[name] = e
	}
	f.mu.Unlock()
	e.once.Do(func() {
		var values []string
		out, isSOPS, err := f.d.decrypt(name, raw, &values)
		var skipped *Error
		if err != nil && f.d.allow && errors.As(err, &skipped) && errors.Is(err, ErrNoKey) {
			out, isSOPS, err = raw, false, nil
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case err != nil:
			e.err = err
		case !isSOPS:
			// Plain, or passed through still encrypted: not kept, not
			// listed as decrypted.
			delete(f.files, name)
			if skipped != nil {
				f.skipped[name] = skipped
			}
			e.data = raw
		default:
			e.data, e.values = out, values
		}
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	return e.data, e.err
}

// ReadFile returns the file's content, decrypted when it is a SOPS file.
func (f *FS) ReadFile(name string) ([]byte, error) {
	if FormatOf(name) == FormatNone {
		return fs.ReadFile(f.tree, name)
	}
	raw, err := fs.ReadFile(f.tree, name)
	if err != nil {
		return nil, err
	}
	data, err := f.content(name, raw)
	if err != nil {
		return nil, contentErr("read", name, err)
	}
	if sameSlice(data, raw) {
		return raw, nil
	}
	return bytes.Clone(data), nil
}

// contentErr is the error of reading name's content: an *Error, which
// names the file already, as it is ("sops: db.yaml: no key can decrypt
// it", not "open db.yaml: sops: db.yaml: ..."), else a *fs.PathError.
func contentErr(op, name string, err error) error {
	if e, ok := err.(*Error); ok && e.Path == name {
		return e
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// Open opens the file; a SOPS file comes back as an in-memory file of its
// plaintext whose Stat reports the plaintext's size.
func (f *FS) Open(name string) (fs.File, error) {
	file, err := f.tree.Open(name)
	if err != nil || FormatOf(name) == FormatNone {
		return file, err
	}
	info, err := file.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return file, nil
	}
	raw, err := io.ReadAll(file)
	file.Close()
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	data, err := f.content(name, raw)
	if err != nil {
		return nil, contentErr("open", name, err)
	}
	return &memFile{Reader: bytes.NewReader(data), info: sizedInfo{FileInfo: info, size: int64(len(data))}}, nil
}

// Stat passes through; a file already decrypted reports its plaintext size.
func (f *FS) Stat(name string) (fs.FileInfo, error) {
	info, err := fs.Stat(f.tree, name)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.files[name]; ok && e.data != nil {
		return sizedInfo{FileInfo: info, size: int64(len(e.data))}, nil
	}
	return info, nil
}

func (f *FS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(f.tree, name) }

func (f *FS) Lstat(name string) (fs.FileInfo, error) { return fs.Lstat(f.tree, name) }

func (f *FS) ReadLink(name string) (string, error) { return fs.ReadLink(f.tree, name) }

// Hash is the content hash of the file as stored — the ciphertext — so a
// cache keyed by it never holds a digest of decrypted material. It passes
// through to a tree that knows its hashes (a git tree's blob ids), else it
// is the SHA-256 of the stored bytes.
func (f *FS) Hash(name string) (string, error) {
	if h, ok := f.tree.(interface{ Hash(string) (string, error) }); ok {
		return h.Hash(name)
	}
	raw, err := fs.ReadFile(f.tree, name)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:]), nil
}

// memFile is a decrypted file held in memory.
type memFile struct {
	*bytes.Reader
	info fs.FileInfo
}

func (m *memFile) Stat() (fs.FileInfo, error) { return m.info, nil }
func (m *memFile) Close() error               { return nil }

// sizedInfo is a file's info with the size of what a reader gets.
type sizedInfo struct {
	fs.FileInfo
	size int64
}

func (s sizedInfo) Size() int64 { return s.size }
