package packages

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path"
)

// ContentHash is the digest of the package in dir of tree: every file's
// path relative to dir, its executable bit and its content, in path order
// ("sha256:..."). Two trees with the same package content hash the same,
// whatever commit or artifact holds them.
func ContentHash(tree fs.FS, dir string) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(tree, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel := p
		if dir != "." {
			rel = p[len(dir)+1:]
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := "f"
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			mode = "l"
		case info.Mode()&0o111 != 0:
			mode = "x"
		}
		fmt.Fprintf(h, "%s %s %d\n", mode, rel, info.Size())
		f, err := tree.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("hash package %s: %w", path.Clean(dir), err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
