package yaml

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

// Generator reads the manifests under a unit's path.
type Generator struct {
	recursive bool
}

var _ reconcile.Generator = (*Generator)(nil)

// New returns a Generator for spec; a nil spec means the defaults
// (recursive).
func New(spec *reconcile.YAMLGenerator) *Generator {
	g := &Generator{recursive: true}
	if spec != nil && spec.Recursive != nil {
		g.recursive = *spec.Recursive
	}
	return g
}

// Generate decodes every manifest file under req.Dir, in file order.
func (g *Generator) Generate(ctx context.Context, req reconcile.GenerateRequest) ([]*reconcile.Object, error) {
	dir := req.Dir
	if dir == "" {
		dir = "."
	}
	files, err := g.files(req.Tree, dir)
	if err != nil {
		return nil, err
	}
	var objs []*reconcile.Object
	for _, name := range files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		data, err := fs.ReadFile(req.Tree, name)
		if err != nil {
			return nil, fmt.Errorf("read manifest: %w", err)
		}
		got, err := reconcile.DecodeObjects(data, name)
		if err != nil {
			return nil, err
		}
		objs = append(objs, got...)
	}
	if err := reconcile.CheckDuplicates(objs); err != nil {
		return nil, err
	}
	return objs, nil
}

// files lists the manifest files under dir in lexical order. fs.WalkDir
// visits entries in lexical order, so no sort is needed.
func (g *Generator) files(tree fs.FS, dir string) ([]string, error) {
	if err := reconcile.ResolveInTree(tree, dir); err != nil {
		return nil, fmt.Errorf("unit path: %w", err)
	}
	info, err := fs.Stat(tree, dir)
	if err != nil {
		return nil, fmt.Errorf("unit path: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("unit path %s is not a directory", dir)
	}
	ig, err := loadIgnore(tree, dir)
	if err != nil {
		return nil, err
	}
	var files []string
	err = fs.WalkDir(tree, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == dir {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if ig.skip(p, d.IsDir()) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if !g.recursive {
				return fs.SkipDir
			}
			return nil
		}
		if !isManifest(d.Name()) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			ok, err := linkedFile(tree, p)
			if err != nil || !ok {
				return err
			}
		}
		files = append(files, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list manifests: %w", err)
	}
	return files, nil
}

// linkedFile reports whether the symlink p leads to a regular file inside
// the repository; a link leaving it is an error naming the link.
func linkedFile(tree fs.FS, p string) (bool, error) {
	if err := reconcile.ResolveInTree(tree, p); err != nil {
		return false, &reconcile.SourceError{File: p, Err: err}
	}
	info, err := fs.Stat(tree, p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return false, &reconcile.SourceError{File: p, Err: errors.New("dangling symlink")}
		}
		return false, err
	}
	return info.Mode().IsRegular(), nil
}

func isManifest(name string) bool {
	switch path.Ext(name) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}
