package images

import (
	"errors"
	"fmt"
	"os"
	"path"
)

// FileEdit is one file's rewrite: its content before and after, and the
// scalars that changed. Making one changes nothing; Write applies it.
type FileEdit struct {
	Path     string // relative to the repository root
	Old, New []byte
	Changes  []Change
}

// ErrChangedUnderneath is a file that no longer holds what an edit was
// planned from.
var ErrChangedUnderneath = errors.New("file changed since the update was planned")

// Write applies edits under root, each file atomically (a temporary file
// in the same directory renamed over it, with the file's mode kept). A
// file whose content is no longer the edit's Old is not written: a
// concurrent human edit wins. Files already written stay written when a
// later one fails; the error names the file.
func Write(root *os.Root, edits []FileEdit) error {
	for _, e := range edits {
		if err := writeEdit(root, e); err != nil {
			return fmt.Errorf("write %s: %w", e.Path, err)
		}
	}
	return nil
}

func writeEdit(root *os.Root, e FileEdit) error {
	cur, err := root.ReadFile(e.Path)
	if err != nil {
		return err
	}
	if string(cur) != string(e.Old) {
		return ErrChangedUnderneath
	}
	info, err := root.Stat(e.Path)
	if err != nil {
		return err
	}
	tmp := path.Join(path.Dir(e.Path), fmt.Sprintf(".%s.steward-%d", path.Base(e.Path), os.Getpid()))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
	if err != nil {
		return err
	}
	_, werr := f.Write(e.New)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = root.Remove(tmp)
		return err
	}
	if err := root.Rename(tmp, e.Path); err != nil {
		_ = root.Remove(tmp)
		return err
	}
	return nil
}
