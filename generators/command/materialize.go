package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// materialize writes the paths roots of tree under dir (every root
// neither equal to nor under another one; "." for the whole tree; a root
// missing from tree is left out): directories, regular files with their
// permission bits (the executable bit matters), and symlinks that stay in
// the tree. A symlink leaving the tree is an error under the unit's
// directory and left out elsewhere. .git directories are left out.
func materialize(ctx context.Context, tree fs.FS, dir, unitDir string, roots []string) error {
	for _, root := range roots {
		if root != "." {
			if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(path.Dir(root))), 0o755); err != nil {
				return fmt.Errorf("materialize tree: %w", err)
			}
		}
	}
	err := walkRoots(ctx, tree, roots, func(p string, d fs.DirEntry) error {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		switch {
		case p == ".":
			return nil
		case d.IsDir():
			return os.Mkdir(dst, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			return materializeLink(tree, p, dst, unitDir)
		case d.Type().IsRegular():
			return materializeFile(tree, p, dst, d)
		default:
			return nil // devices, sockets, pipes: never in a repository
		}
	})
	if err != nil {
		return fmt.Errorf("materialize tree: %w", err)
	}
	return nil
}

// walkRoots walks each of roots in tree, calling fn for every entry but
// .git directories; a root missing from tree is skipped. It stops when ctx
// ends.
func walkRoots(ctx context.Context, tree fs.FS, roots []string, fn func(p string, d fs.DirEntry) error) error {
	for _, root := range roots {
		err := fs.WalkDir(tree, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == root && errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.IsDir() && d.Name() == ".git" {
				return fs.SkipDir
			}
			return fn(p, d)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func materializeLink(tree fs.FS, p, dst, unitDir string) error {
	target, err := fs.ReadLink(tree, p)
	if err != nil {
		return err
	}
	joined := path.Join(path.Dir(p), target)
	if path.IsAbs(target) || joined == ".." || strings.HasPrefix(joined, "../") {
		if unitDir == "." || p == unitDir || strings.HasPrefix(p, unitDir+"/") {
			return fmt.Errorf("symlink %s -> %s leaves the repository", p, target)
		}
		return nil
	}
	return os.Symlink(target, dst)
}

func materializeFile(tree fs.FS, p, dst string, d fs.DirEntry) error {
	info, err := d.Info()
	if err != nil {
		return err
	}
	src, err := tree.Open(p)
	if err != nil {
		return err
	}
	defer src.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm()|0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
