package jsonnet

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	gojsonnet "github.com/google/go-jsonnet"

	"github.com/stewardhq/steward/reconcile"
)

// defaultLibDirs are searched after the spec's jpath, at the repository root.
var defaultLibDirs = []string{"lib", "vendor"}

// treeImporter resolves jsonnet imports in a revision's tree. Every path it
// returns (foundAt) is relative to the repository root, so jsonnet's error
// locations are too.
type treeImporter struct {
	tree  fs.FS
	jpath []string
	cache map[string]cached
}

type cached struct {
	contents gojsonnet.Contents
	err      error
}

var _ gojsonnet.Importer = (*treeImporter)(nil)

// errNotFound marks a candidate that does not exist.
var errNotFound = errors.New("not found")

// Import finds importedPath for the file importedFrom. An empty importedFrom
// is the entry file, named from the repository root.
func (im *treeImporter) Import(importedFrom, importedPath string) (gojsonnet.Contents, string, error) {
	if path.IsAbs(importedPath) || strings.HasPrefix(importedPath, `\`) {
		return gojsonnet.Contents{}, "", fmt.Errorf("import %q: absolute paths are refused; imports are relative to the repository", importedPath)
	}
	dirs := []string{"."}
	if importedFrom != "" {
		dirs = append([]string{path.Dir(importedFrom)}, im.jpath...)
	}
	for i, dir := range dirs {
		candidate := path.Join(dir, importedPath)
		if candidate == ".." || strings.HasPrefix(candidate, "../") {
			if i == 0 {
				return gojsonnet.Contents{}, "", fmt.Errorf("import %q leaves the repository", importedPath)
			}
			continue // ".." past a library directory: not there
		}
		c, err := im.read(candidate)
		if errors.Is(err, errNotFound) {
			continue
		}
		return c, candidate, err
	}
	searched := make([]string, len(dirs))
	for i, d := range dirs {
		searched[i] = d + "/"
	}
	return gojsonnet.Contents{}, "", fmt.Errorf("import %q: %w in %s", importedPath, fs.ErrNotExist, strings.Join(searched, ", "))
}

// read returns the contents of a tree file, the same Contents for the same
// name every time (go-jsonnet requires it).
func (im *treeImporter) read(name string) (gojsonnet.Contents, error) {
	if c, ok := im.cache[name]; ok {
		return c.contents, c.err
	}
	c := im.load(name)
	im.cache[name] = c
	return c.contents, c.err
}

func (im *treeImporter) load(name string) cached {
	if err := reconcile.ResolveInTree(im.tree, name); err != nil {
		return cached{err: err}
	}
	info, err := fs.Stat(im.tree, name)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && info.IsDir()) {
		return cached{err: errNotFound}
	}
	if err != nil {
		return cached{err: err}
	}
	data, err := fs.ReadFile(im.tree, name)
	if err != nil {
		return cached{err: err}
	}
	return cached{contents: gojsonnet.MakeContentsRaw(data)}
}
