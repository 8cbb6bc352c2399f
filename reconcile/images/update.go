package images

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"

	"github.com/stewardhq/steward/reconcile"
)

// FileEdit is one file's rewrite: its content before and after, and the
// scalars that changed. Planning it changes nothing.
type FileEdit struct {
	Path     string // relative to the repository root
	Old, New []byte
	Changes  []Change
}

// Plan computes the edits that set every marker of the stack's units to
// what its policy chose. Policies that chose nothing (Err set) leave their
// markers alone; two policies in one file make one edit. Edits are in path
// order; markers naming an unknown policy are left alone here and refused
// by CheckMarkers.
func Plan(tree fs.FS, s *reconcile.Stack, choices []Choice) ([]FileEdit, []Warning, error) {
	refs := map[string]Ref{}
	for _, c := range choices {
		if c.Err == nil && c.Tag != "" {
			refs[c.Policy] = c.Ref
		}
	}
	markers, warns, err := FindInTree(tree, MarkerDirs(s))
	if err != nil {
		return nil, nil, err
	}
	files := map[string]bool{}
	for _, m := range markers {
		if _, ok := refs[m.Policy]; ok {
			files[m.File] = true
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	set := func(m Marker) (string, bool) {
		r, ok := refs[m.Policy]
		if !ok {
			return "", false
		}
		if m.Field == FieldDigest && r.Digest == "" {
			return "", false // the policy does not pin: nothing to write
		}
		return r.Value(m.Field), true
	}
	var edits []FileEdit
	for _, p := range paths {
		old, err := fs.ReadFile(tree, p)
		if err != nil {
			return nil, nil, fmt.Errorf("plan image update: %w", err)
		}
		// Find already warned about this file's malformed markers.
		out, changes, _ := Rewrite(p, old, set)
		if len(changes) > 0 {
			edits = append(edits, FileEdit{Path: p, Old: old, New: out, Changes: changes})
		}
	}
	for _, m := range markers {
		if r, ok := refs[m.Policy]; ok && m.Field == FieldDigest && r.Digest == "" {
			warns = append(warns, Warning{m.File, m.Line, fmt.Sprintf("a :digest marker of policy %s, which does not pin digests: left alone", m.Policy)})
		}
	}
	return edits, warns, nil
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
