package git

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// ErrOutsideTree is returned (inside an *fs.PathError) when a symlink leads
// outside the commit's tree: an absolute target or one climbing above the
// root.
var ErrOutsideTree = errors.New("symlink leads outside the repository tree")

// errTooManyLinks stops symlink loops.
var errTooManyLinks = errors.New("too many levels of symbolic links")

const maxLinkHops = 40

// TreeFS is a commit's tree read straight from git's object store. It
// implements fs.ReadDirFS, fs.ReadFileFS, fs.StatFS, fs.ReadLinkFS and
// fs.SubFS, and is safe for concurrent use.
//
// Files have mode 0644, or 0755 when git records them executable; symlinks
// are ModeSymlink|0777 (Lstat, ReadLink) and are followed by Open, Stat,
// ReadFile and ReadDir only while they stay inside the tree (ErrOutsideTree
// otherwise). Submodules (gitlinks) are empty directories. Every entry's
// ModTime is the commit's committer time, and FileInfo.Sys() is the git
// object id (a string).
type TreeFS struct {
	store storer.EncodedObjectStorer
	mu    *sync.Mutex // guards store, shared with the Repository
	root  plumbing.Hash
	mtime time.Time

	cacheMu sync.Mutex
	trees   map[plumbing.Hash][]object.TreeEntry
	// names indexes the entries of large trees by name: a directory of
	// thousands of units is looked up once per unit, and scanning it each
	// time made generating N units cost N².
	names map[plumbing.Hash]map[string]int
	// scanned counts entries compared by linear lookups, for tests.
	scanned atomic.Int64
}

// smallTree is the entry count up to which a tree is scanned rather than
// indexed.
const smallTree = 32

// entry is one resolved tree entry.
type entry struct {
	name string // base name, "." for the root
	mode filemode.FileMode
	hash plumbing.Hash
}

func (e entry) isDir() bool {
	return e.mode == filemode.Dir || e.mode == filemode.Submodule
}

func newTreeFS(store storer.EncodedObjectStorer, mu *sync.Mutex, root plumbing.Hash, mtime time.Time) *TreeFS {
	return &TreeFS{store: store, mu: mu, root: root, mtime: mtime, trees: map[plumbing.Hash][]object.TreeEntry{},
		names: map[plumbing.Hash]map[string]int{}}
}

// Open opens the named file or directory, following symlinks inside the
// tree.
func (t *TreeFS) Open(name string) (fs.File, error) {
	e, err := t.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	if e.isDir() {
		ents, err := t.readDir("open", name, e)
		if err != nil {
			return nil, err
		}
		return &dirFile{info: t.info(e), entries: ents}, nil
	}
	data, err := t.blob("open", name, e.hash)
	if err != nil {
		return nil, err
	}
	info := t.info(e)
	info.size = int64(len(data))
	info.sized = true
	return &blobFile{info: info, Reader: bytes.NewReader(data)}, nil
}

// ReadFile returns the content of the named file, following symlinks.
func (t *TreeFS) ReadFile(name string) ([]byte, error) {
	e, err := t.resolve("readfile", name, true)
	if err != nil {
		return nil, err
	}
	if e.isDir() {
		return nil, &fs.PathError{Op: "readfile", Path: name, Err: errors.New("is a directory")}
	}
	return t.blob("readfile", name, e.hash)
}

// ReadDir returns the named directory's entries sorted by name.
func (t *TreeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	e, err := t.resolve("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if !e.isDir() {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	return t.readDir("readdir", name, e)
}

// Stat describes the named file, following symlinks.
func (t *TreeFS) Stat(name string) (fs.FileInfo, error) {
	e, err := t.resolve("stat", name, true)
	if err != nil {
		return nil, err
	}
	return t.info(e), nil
}

// Lstat describes the named file without following a final symlink.
func (t *TreeFS) Lstat(name string) (fs.FileInfo, error) {
	e, err := t.resolve("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return t.info(e), nil
}

// ReadLink returns the target of the named symlink as git stores it.
func (t *TreeFS) ReadLink(name string) (string, error) {
	e, err := t.resolve("readlink", name, false)
	if err != nil {
		return "", err
	}
	if e.mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	b, err := t.blob("readlink", name, e.hash)
	return string(b), err
}

// Hash returns the git object id of the named entry, following symlinks: the
// blob id for a file, the tree id for a directory (the commit id for a
// submodule). Callers use it to key caches without reading content.
func (t *TreeFS) Hash(name string) (string, error) {
	e, err := t.resolve("hash", name, true)
	if err != nil {
		return "", err
	}
	return e.hash.String(), nil
}

// Sub returns the tree rooted at dir. Symlinks inside it are still confined
// to the whole commit's tree, not to dir.
func (t *TreeFS) Sub(dir string) (fs.FS, error) {
	e, err := t.resolve("sub", dir, true)
	if err != nil {
		return nil, err
	}
	if !e.isDir() {
		return nil, &fs.PathError{Op: "sub", Path: dir, Err: errors.New("not a directory")}
	}
	if dir == "." {
		return t, nil
	}
	return &subFS{t: t, dir: dir}, nil
}

// resolve walks name from the root, following symlinks in every directory
// component, and in the final one when follow is set.
func (t *TreeFS) resolve(op, name string, follow bool) (entry, error) {
	if !fs.ValidPath(name) {
		return entry{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	root := entry{name: ".", mode: filemode.Dir, hash: t.root}
	var todo []string
	if name != "." {
		todo = strings.Split(name, "/")
	}
	var stack []entry // resolved directories below the root
	cur := root
	hops := 0
	link := "" // the last symlink followed, for errors
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) == 0 {
				err := ErrOutsideTree
				if link != "" {
					err = fmt.Errorf("%w: %s", ErrOutsideTree, link)
				}
				return entry{}, &fs.PathError{Op: op, Path: name, Err: err}
			}
			stack = stack[:len(stack)-1]
			cur = root
			if len(stack) > 0 {
				cur = stack[len(stack)-1]
			}
			continue
		}
		if !cur.isDir() {
			return entry{}, &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("%s is not a directory: %w", cur.name, fs.ErrNotExist)}
		}
		child, ok, err := t.child(cur, c)
		if err != nil {
			return entry{}, &fs.PathError{Op: op, Path: name, Err: err}
		}
		if !ok {
			return entry{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
		}
		if child.mode == filemode.Symlink && (len(todo) > 0 || follow) {
			hops++
			if hops > maxLinkHops {
				return entry{}, &fs.PathError{Op: op, Path: name, Err: errTooManyLinks}
			}
			target, err := t.blob(op, name, child.hash)
			if err != nil {
				return entry{}, err
			}
			tg := string(target)
			link = fmt.Sprintf("%s -> %q", c, tg)
			if path.IsAbs(tg) || tg == "" {
				return entry{}, &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("%w: %s", ErrOutsideTree, link)}
			}
			// The target is relative to the link's directory: keep the
			// stack, push its components in front of what is left.
			todo = append(strings.Split(tg, "/"), todo...)
			continue
		}
		stack = append(stack, child)
		cur = child
	}
	// Like os.Stat, the name is the one asked for, not the link target's.
	cur.name = path.Base(name)
	return cur, nil
}

// child finds name in dir: a small tree is scanned, a large one looked up
// in its index.
func (t *TreeFS) child(dir entry, name string) (entry, bool, error) {
	ents, err := t.entries(dir)
	if err != nil {
		return entry{}, false, err
	}
	if len(ents) > smallTree {
		i, ok := t.index(dir.hash, ents)[name]
		if !ok {
			return entry{}, false, nil
		}
		e := ents[i]
		return entry{name: e.Name, mode: e.Mode, hash: e.Hash}, true, nil
	}
	for i, e := range ents {
		if e.Name == name {
			t.scanned.Add(int64(i + 1))
			return entry{name: e.Name, mode: e.Mode, hash: e.Hash}, true, nil
		}
	}
	t.scanned.Add(int64(len(ents)))
	return entry{}, false, nil
}

// index returns the name index of the tree hash, building it once.
func (t *TreeFS) index(hash plumbing.Hash, ents []object.TreeEntry) map[string]int {
	t.cacheMu.Lock()
	defer t.cacheMu.Unlock()
	idx, ok := t.names[hash]
	if !ok {
		idx = make(map[string]int, len(ents))
		for i, e := range ents {
			if _, dup := idx[e.Name]; !dup { // the first wins, as in a scan
				idx[e.Name] = i
			}
		}
		t.names[hash] = idx
	}
	return idx
}

// entries returns a directory's tree entries (none for a submodule).
func (t *TreeFS) entries(dir entry) ([]object.TreeEntry, error) {
	if dir.mode == filemode.Submodule {
		return nil, nil
	}
	t.cacheMu.Lock()
	ents, ok := t.trees[dir.hash]
	t.cacheMu.Unlock()
	if ok {
		return ents, nil
	}
	t.mu.Lock()
	tree, err := object.GetTree(t.store, dir.hash)
	t.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", dir.hash, err)
	}
	t.cacheMu.Lock()
	t.trees[dir.hash] = tree.Entries
	t.cacheMu.Unlock()
	return tree.Entries, nil
}

func (t *TreeFS) readDir(op, name string, dir entry) ([]fs.DirEntry, error) {
	ents, err := t.entries(dir)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	out := make([]fs.DirEntry, 0, len(ents))
	for _, e := range ents {
		out = append(out, dirEntry{info: t.info(entry{name: e.Name, mode: e.Mode, hash: e.Hash})})
	}
	// git sorts directories as "name/"; fs.ReadDir wants plain names.
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// blob reads a blob's whole content.
func (t *TreeFS) blob(op, name string, h plumbing.Hash) ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	o, err := t.store.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("read blob %s: %w", h, err)}
	}
	r, err := o.Reader()
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("read blob %s: %w", h, err)}
	}
	defer r.Close()
	b := make([]byte, 0, o.Size())
	buf := bytes.NewBuffer(b)
	if _, err := io.Copy(buf, r); err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("read blob %s: %w", h, err)}
	}
	return buf.Bytes(), nil
}

// size returns a blob's size without reading it where the store allows.
func (t *TreeFS) size(h plumbing.Hash) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s, ok := t.store.(interface {
		EncodedObjectSize(plumbing.Hash) (int64, error)
	}); ok {
		if n, err := s.EncodedObjectSize(h); err == nil {
			return n
		}
	}
	o, err := t.store.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return 0
	}
	return o.Size()
}

func (t *TreeFS) info(e entry) *fileInfo {
	return &fileInfo{t: t, e: e}
}

// fileInfo describes one entry; a blob's size is read on first use.
type fileInfo struct {
	t     *TreeFS
	e     entry
	once  sync.Once
	size  int64
	sized bool
}

func (i *fileInfo) Name() string { return i.e.name }
func (i *fileInfo) Size() int64 {
	if i.e.isDir() || i.sized {
		return i.size
	}
	i.once.Do(func() { i.size = i.t.size(i.e.hash) })
	return i.size
}
func (i *fileInfo) Mode() fs.FileMode {
	switch i.e.mode {
	case filemode.Dir, filemode.Submodule:
		return fs.ModeDir | 0o755
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	case filemode.Executable:
		return 0o755
	default:
		return 0o644
	}
}
func (i *fileInfo) ModTime() time.Time { return i.t.mtime }
func (i *fileInfo) IsDir() bool        { return i.e.isDir() }
func (i *fileInfo) Sys() any           { return i.e.hash.String() }

type dirEntry struct{ info *fileInfo }

func (d dirEntry) Name() string               { return d.info.Name() }
func (d dirEntry) IsDir() bool                { return d.info.IsDir() }
func (d dirEntry) Type() fs.FileMode          { return d.info.Mode().Type() }
func (d dirEntry) Info() (fs.FileInfo, error) { return d.info, nil }
func (d dirEntry) String() string             { return fs.FormatDirEntry(d) }

// blobFile is an open file; its content is in memory.
type blobFile struct {
	info *fileInfo
	*bytes.Reader
}

func (f *blobFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *blobFile) Close() error               { return nil }

// dirFile is an open directory.
type dirFile struct {
	info    *fileInfo
	entries []fs.DirEntry
	off     int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Close() error               { return nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.Name(), Err: errors.New("is a directory")}
}

func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.off += n
	return rest[:n], nil
}

// subFS is TreeFS rooted at a directory.
type subFS struct {
	t   *TreeFS
	dir string
}

func (s *subFS) full(op, name string) (string, error) {
	if !fs.ValidPath(name) {
		return "", &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	return path.Join(s.dir, name), nil
}

func (s *subFS) fix(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if rel, ok := strings.CutPrefix(pe.Path, s.dir+"/"); ok {
			pe.Path = rel
		} else if pe.Path == s.dir {
			pe.Path = "."
		}
	}
	return err
}

func (s *subFS) Open(name string) (fs.File, error) {
	full, err := s.full("open", name)
	if err != nil {
		return nil, err
	}
	f, err := s.t.Open(full)
	return f, s.fix(err)
}

func (s *subFS) ReadFile(name string) ([]byte, error) {
	full, err := s.full("readfile", name)
	if err != nil {
		return nil, err
	}
	b, err := s.t.ReadFile(full)
	return b, s.fix(err)
}

func (s *subFS) ReadDir(name string) ([]fs.DirEntry, error) {
	full, err := s.full("readdir", name)
	if err != nil {
		return nil, err
	}
	d, err := s.t.ReadDir(full)
	return d, s.fix(err)
}

func (s *subFS) Stat(name string) (fs.FileInfo, error) {
	full, err := s.full("stat", name)
	if err != nil {
		return nil, err
	}
	i, err := s.t.Stat(full)
	return i, s.fix(err)
}

func (s *subFS) Lstat(name string) (fs.FileInfo, error) {
	full, err := s.full("lstat", name)
	if err != nil {
		return nil, err
	}
	i, err := s.t.Lstat(full)
	return i, s.fix(err)
}

func (s *subFS) ReadLink(name string) (string, error) {
	full, err := s.full("readlink", name)
	if err != nil {
		return "", err
	}
	l, err := s.t.ReadLink(full)
	return l, s.fix(err)
}

func (s *subFS) Hash(name string) (string, error) {
	full, err := s.full("hash", name)
	if err != nil {
		return "", err
	}
	h, err := s.t.Hash(full)
	return h, s.fix(err)
}

func (s *subFS) Sub(dir string) (fs.FS, error) {
	full, err := s.full("sub", dir)
	if err != nil {
		return nil, err
	}
	f, err := s.t.Sub(full)
	return f, s.fix(err)
}

var (
	_ fs.ReadDirFS  = (*TreeFS)(nil)
	_ fs.ReadFileFS = (*TreeFS)(nil)
	_ fs.StatFS     = (*TreeFS)(nil)
	_ fs.ReadLinkFS = (*TreeFS)(nil)
	_ fs.SubFS      = (*TreeFS)(nil)
	_ fs.ReadLinkFS = (*subFS)(nil)
)
