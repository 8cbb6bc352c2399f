package writeback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

// WorkCopy is a revision's tree copied to a directory, for proposals to
// edit and generators to read. Paths are slash-separated and relative to
// the stack's root.
type WorkCopy struct {
	// Dir is the copy on disk.
	Dir string
	// Root is Dir opened as an os.Root: every write goes through it.
	Root *os.Root
	// Base is the revision copied; its tree is the reference Changed
	// compares with.
	Base *reconcile.Revision
}

// NewWorkCopy copies base's tree into a new directory under tmp ("" for
// the system's): directories, regular files with their executable bit, and
// symlinks that stay inside the tree (others are left out). A .git
// directory is not copied. The caller closes it.
func NewWorkCopy(ctx context.Context, base *reconcile.Revision, tmp string) (*WorkCopy, error) {
	dir, err := os.MkdirTemp(tmp, "steward-writeback-")
	if err != nil {
		return nil, fmt.Errorf("work copy: %w", err)
	}
	wc := &WorkCopy{Dir: dir, Base: base}
	if err := copyTree(ctx, base.Tree, dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("work copy of %s: %w", reconcile.ShortRevision(base.ID, reconcile.RevisionWidth), err)
	}
	if wc.Root, err = os.OpenRoot(dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("work copy: %w", err)
	}
	return wc, nil
}

// Revision is the work copy as a revision: the base's id and time, the
// copy's tree and directory.
func (wc *WorkCopy) Revision() *reconcile.Revision {
	r := *wc.Base
	r.Tree, r.Dir = wc.Root.FS(), wc.Dir
	return &r
}

// Close removes the copy.
func (wc *WorkCopy) Close() error {
	err := wc.Root.Close()
	return errors.Join(err, os.RemoveAll(wc.Dir))
}

func copyTree(ctx context.Context, tree fs.FS, dir string) error {
	return fs.WalkDir(tree, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		switch {
		case d.IsDir():
			return os.Mkdir(dst, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := fs.ReadLink(tree, p)
			if err != nil {
				return err
			}
			joined := path.Join(path.Dir(p), target)
			if path.IsAbs(target) || joined == ".." || strings.HasPrefix(joined, "../") {
				return nil
			}
			return os.Symlink(target, dst)
		case d.Type().IsRegular():
			data, err := fs.ReadFile(tree, p)
			if err != nil {
				return err
			}
			mode := os.FileMode(0o644)
			if info, err := d.Info(); err == nil && info.Mode()&0o111 != 0 {
				mode = 0o755
			}
			return os.WriteFile(dst, data, mode)
		}
		return nil
	})
}

// Changed returns every file whose content differs from the base's, by
// path: the new content, or nil for a file removed. Symlinks and
// directories are not compared.
func (wc *WorkCopy) Changed() (map[string][]byte, error) {
	out := map[string][]byte{}
	seen := map[string]bool{}
	err := fs.WalkDir(wc.Root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		seen[p] = true
		cur, err := wc.Root.ReadFile(p)
		if err != nil {
			return err
		}
		old, err := fs.ReadFile(wc.Base.Tree, p)
		if err != nil || !bytes.Equal(old, cur) {
			out[p] = cur
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("work copy: %w", err)
	}
	err = fs.WalkDir(wc.Base.Tree, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		if d.Type().IsRegular() && !seen[p] {
			out[p] = nil
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("base tree: %w", err)
	}
	return out, nil
}

// restore makes the copy hold the base with exactly the changes of state
// (as Changed returns them): what a refused proposal wrote is undone.
func (wc *WorkCopy) restore(state map[string][]byte) error {
	now, err := wc.Changed()
	if err != nil {
		return err
	}
	paths := map[string]bool{}
	for p := range now {
		paths[p] = true
	}
	for p := range state {
		paths[p] = true
	}
	for p := range paths {
		want, inState := state[p]
		if !inState {
			b, err := fs.ReadFile(wc.Base.Tree, p)
			if err == nil {
				want = b
			}
		}
		cur, err := wc.Root.ReadFile(p)
		exists := err == nil
		switch {
		case want == nil && exists:
			if err := wc.Root.Remove(p); err != nil {
				return fmt.Errorf("undo %s: %w", p, err)
			}
		case want != nil && (!exists || !bytes.Equal(cur, want)):
			if err := wc.Root.MkdirAll(path.Dir(p), 0o755); err != nil {
				return fmt.Errorf("undo %s: %w", p, err)
			}
			if err := wc.Root.WriteFile(p, want, 0o644); err != nil {
				return fmt.Errorf("undo %s: %w", p, err)
			}
		}
	}
	return nil
}

// Affected returns the units of stack whose path or extraPaths hold one of
// files, in stack order; a change to the stack file itself affects them
// all, and one to steward.lock every package unit.
func Affected(stack *reconcile.Stack, files []string) []string {
	var out []string
	for _, u := range stack.Units {
		dirs := append([]string{u.Path}, u.ExtraPaths...)
		if u.Package != nil {
			dirs = nil // its files are the package's, pinned by the lock
		}
		hit := false
		for _, f := range files {
			if f == reconcile.StackFile || (f == reconcile.LockFile && u.Package != nil) {
				hit = true
			}
			for _, d := range dirs {
				if d = path.Clean(d); d == "." || f == d || strings.HasPrefix(f, d+"/") {
					hit = true
				}
			}
		}
		if hit && !slices.Contains(out, u.Name) {
			out = append(out, u.Name)
		}
	}
	return out
}
