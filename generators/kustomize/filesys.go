package kustomize

import (
	"errors"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	kfs "sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/stewardhq/steward/reconcile"
)

// errReadOnly is returned by every write to the tree file system.
var errReadOnly = errors.New("the revision's tree is read-only")

// treeFS presents a revision's tree to kustomize as a read-only file system
// whose root "/" is the repository root. Every path is checked against
// symlinks that leave the repository before it is used, so even a tree on
// disk (os.DirFS follows symlinks anywhere) stays confined.
type treeFS struct {
	tree     fs.FS
	mu       sync.Mutex
	checked  map[string]error
	replaced map[string][]byte // content served instead of the tree's (originOf)
}

var _ kfs.FileSystem = (*treeFS)(nil)

func newTreeFS(tree fs.FS) *treeFS {
	return &treeFS{tree: tree, checked: map[string]error{}}
}

// abs turns a tree name into the absolute path kustomize sees.
func abs(name string) string {
	if name == "." {
		return "/"
	}
	return "/" + name
}

// name turns a kustomize path into a tree name, refusing symlinks that leave
// the repository. Relative paths are taken from the root.
func (t *treeFS) name(p string) (string, error) {
	name := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(p)), "/")
	if name == "" {
		name = "."
	}
	t.mu.Lock()
	err, ok := t.checked[name]
	t.mu.Unlock()
	if !ok {
		err = reconcile.ResolveInTree(t.tree, name)
		t.mu.Lock()
		t.checked[name] = err
		t.mu.Unlock()
	}
	if err != nil {
		return "", &fs.PathError{Op: "open", Path: abs(name), Err: err}
	}
	return name, nil
}

func (t *treeFS) Create(p string) (kfs.File, error) {
	return nil, &fs.PathError{Op: "create", Path: p, Err: errReadOnly}
}

func (t *treeFS) Mkdir(p string) error {
	return &fs.PathError{Op: "mkdir", Path: p, Err: errReadOnly}
}

func (t *treeFS) MkdirAll(p string) error {
	return &fs.PathError{Op: "mkdir", Path: p, Err: errReadOnly}
}

func (t *treeFS) RemoveAll(p string) error {
	return &fs.PathError{Op: "remove", Path: p, Err: errReadOnly}
}

func (t *treeFS) WriteFile(p string, _ []byte) error {
	return &fs.PathError{Op: "write", Path: p, Err: errReadOnly}
}

func (t *treeFS) Open(p string) (kfs.File, error) {
	name, err := t.name(p)
	if err != nil {
		return nil, err
	}
	f, err := t.tree.Open(name)
	if err != nil {
		return nil, err
	}
	return roFile{f}, nil
}

func (t *treeFS) IsDir(p string) bool {
	name, err := t.name(p)
	if err != nil {
		return false
	}
	info, err := fs.Stat(t.tree, name)
	return err == nil && info.IsDir()
}

func (t *treeFS) Exists(p string) bool {
	name, err := t.name(p)
	if err != nil {
		return false
	}
	_, err = fs.Stat(t.tree, name)
	return err == nil
}

func (t *treeFS) ReadDir(p string) ([]string, error) {
	name, err := t.name(p)
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(t.tree, name)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

func (t *treeFS) ReadFile(p string) ([]byte, error) {
	name, err := t.name(p)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	data, ok := t.replaced[name]
	t.mu.Unlock()
	if ok {
		return slices.Clone(data), nil
	}
	return fs.ReadFile(t.tree, name)
}

// override serves data as the content of the tree file name; nil ends it.
func (t *treeFS) override(name string, data []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if data == nil {
		delete(t.replaced, name)
		return
	}
	if t.replaced == nil {
		t.replaced = map[string][]byte{}
	}
	t.replaced[name] = data
}

// CleanedAbs splits p into a directory and a file name ("" when p is a
// directory), like kustomize's on-disk file system.
func (t *treeFS) CleanedAbs(p string) (kfs.ConfirmedDir, string, error) {
	name, err := t.name(p)
	if err != nil {
		return "", "", err
	}
	info, err := fs.Stat(t.tree, name)
	if err != nil {
		return "", "", err
	}
	if info.IsDir() {
		return kfs.ConfirmedDir(abs(name)), "", nil
	}
	return kfs.ConfirmedDir(abs(path.Dir(name))), path.Base(name), nil
}

func (t *treeFS) Glob(pattern string) ([]string, error) {
	pat := strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(pattern)), "/")
	if pat == "" {
		pat = "."
	}
	matches, err := fs.Glob(t.tree, pat)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(matches))
	for _, m := range matches {
		if _, err := t.name(m); err == nil {
			out = append(out, abs(m))
		}
	}
	return out, nil
}

func (t *treeFS) Walk(p string, walkFn filepath.WalkFunc) error {
	name, err := t.name(p)
	if err != nil {
		return walkFn(p, nil, err)
	}
	return fs.WalkDir(t.tree, name, func(n string, d fs.DirEntry, err error) error {
		if err != nil {
			return walkFn(abs(n), nil, err)
		}
		info, err := d.Info()
		return walkFn(abs(n), info, err)
	})
}

// roFile is a tree file that refuses writes.
type roFile struct{ fs.File }

func (f roFile) Write([]byte) (int, error) { return 0, errReadOnly }
