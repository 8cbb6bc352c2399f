package command

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/stewardhq/steward/reconcile"
)

// MemoryError is a command that would read decrypted SOPS files where no
// memory-backed filesystem is available: steward writes nothing decrypted
// to disk, so the command does not run.
type MemoryError struct {
	// Files are the SOPS files decrypted for the command.
	Files []string
	// Tried says, for each directory tried, why it would not do.
	Tried []string
}

func (e *MemoryError) Error() string {
	return fmt.Sprintf("command: decrypted %s, which it may only read from a memory-backed work tree, and none is available (%s): steward writes nothing decrypted to disk; point $XDG_RUNTIME_DIR at a tmpfs",
		strings.Join(e.Files, ", "), strings.Join(e.Tried, "; "))
}

// workTree returns the directory holding the repository the command runs
// in, and what removes it afterwards. Where the tree decrypts SOPS files
// and some of those the command reads (readable) decrypt, that is a fresh
// 0700 directory on a memory-backed filesystem holding what the command
// reads, those files in plain text. Otherwise it is the checkout itself,
// or, without one, the whole tree materialised into a temporary directory,
// SOPS files as stored.
func (g *Generator) workTree(ctx context.Context, req reconcile.GenerateRequest) (string, func(), error) {
	tree := req.Tree
	if dt, ok := req.Tree.(reconcile.DecryptingTree); ok {
		roots := g.readable(req)
		files, err := decryptIn(ctx, dt, roots)
		if err != nil {
			return "", nil, err
		}
		if len(files) > 0 {
			return inMemory(ctx, dt, req.Dir, roots, files)
		}
		tree = dt.Tree()
	}
	if req.LocalDir != "" {
		return req.LocalDir, func() {}, nil
	}
	tmp, err := os.MkdirTemp("", "steward-command-")
	if err != nil {
		return "", nil, fmt.Errorf("materialize tree: %w", err)
	}
	done := func() { _ = os.RemoveAll(tmp) }
	if err := materialize(ctx, tree, tmp, req.Dir, []string{"."}); err != nil {
		done()
		return "", nil, err
	}
	return tmp, done, nil
}

// readable are the paths of the repository that are a command's inputs:
// its unit's directory and extraPaths (what the generation cache watches
// for a command unit), and run[0] when it is a file of the repository
// outside them; each neither equal to nor under another.
func (g *Generator) readable(req reconcile.GenerateRequest) []string {
	paths := []string{path.Clean(req.Dir)}
	if req.Unit != nil {
		for _, p := range req.Unit.ExtraPaths {
			paths = append(paths, path.Clean(p))
		}
	}
	if arg0 := g.spec.Run[0]; strings.Contains(arg0, "/") && !filepath.IsAbs(arg0) {
		if p := path.Join(req.Dir, arg0); reconcile.CleanRepoPath(p) == nil {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	paths = slices.Compact(paths)
	return slices.DeleteFunc(paths, func(p string) bool {
		return slices.ContainsFunc(paths, func(q string) bool { return q != p && within(p, q) })
	})
}

// within reports whether p is dir or under it.
func within(p, dir string) bool {
	return dir == "." || p == dir || strings.HasPrefix(p, dir+"/")
}

// decryptIn opens every regular file under roots through dt, which
// decrypts the SOPS files among them in memory (those of other formats are
// not even read), and returns those it decrypted. A SOPS file no key opens
// fails, named, unless dt passes it through encrypted (verify without
// keys, which then reports the unit as not checked).
func decryptIn(ctx context.Context, dt reconcile.DecryptingTree, roots []string) ([]string, error) {
	read := map[string]bool{}
	err := walkRoots(ctx, dt, roots, func(p string, d fs.DirEntry) error {
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := dt.Open(p)
		if err != nil {
			return err
		}
		read[p] = true
		return f.Close()
	})
	if err != nil {
		return nil, fmt.Errorf("command: %w", err)
	}
	var files []string
	for _, f := range dt.Decrypted() {
		if read[f] {
			files = append(files, f)
		}
	}
	return files, nil
}

// inMemory materialises roots of dt, files decrypted, into a fresh 0700
// directory on a memory-backed filesystem, or fails with a *MemoryError
// when there is none.
func inMemory(ctx context.Context, dt reconcile.DecryptingTree, unitDir string, roots, files []string) (string, func(), error) {
	base, tried := memoryDir()
	if base == "" {
		return "", nil, &MemoryError{Files: files, Tried: tried}
	}
	dir, done, err := memoryWorkDir(base)
	if err != nil {
		return "", nil, fmt.Errorf("command: memory-backed work tree: %w", err)
	}
	if err := materialize(ctx, dt, dir, unitDir, roots); err != nil {
		done()
		if errors.Is(err, syscall.ENOSPC) {
			return "", nil, fmt.Errorf("command: memory-backed work tree in %s is full: %w", base, err)
		}
		return "", nil, err
	}
	return dir, done, nil
}

// inputsDir returns the directory for the STEWARD_INPUTS and
// STEWARD_PARAMS files, and what removes it. When an input holds a secret
// (Inputs.Secrets: a sensitive output) it is a memory-backed work
// directory, as for decrypted SOPS files: steward writes no secret to disk.
func inputsDir(in reconcile.Inputs) (string, func(), error) {
	if len(in.Secrets()) == 0 {
		dir, err := os.MkdirTemp("", "steward-inputs-")
		if err != nil {
			return "", nil, fmt.Errorf("command: inputs: %w", err)
		}
		return dir, func() { _ = os.RemoveAll(dir) }, nil
	}
	base, tried := memoryDir()
	if base == "" {
		return "", nil, fmt.Errorf("command: sensitive inputs may only be written to a memory-backed directory, and none is available (%s): point $XDG_RUNTIME_DIR at a tmpfs", strings.Join(tried, "; "))
	}
	dir, done, err := memoryWorkDir(base)
	if err != nil {
		return "", nil, fmt.Errorf("command: memory-backed inputs directory: %w", err)
	}
	return dir, done, nil
}
