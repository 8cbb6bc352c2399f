package reconcile

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// A unit's committed output (output: in the stack) and `build -o DIR` hold one
// YAML file per object, named by OutputFile. Writing it never follows a
// symlink: every directory of the path and every file in it must be what it
// says, or nothing is written, so a committed symlink cannot redirect the
// write (or the removal of stale files) out of the output tree.

// OutputFile names the file an object is written to:
// [group_]Kind_[namespace_]name.yaml.
func OutputFile(o *Object) string {
	id := IDOf(o)
	parts := []string{id.Kind, id.Name}
	if id.Namespace != "" {
		parts = []string{id.Kind, id.Namespace, id.Name}
	}
	if id.Group != "" {
		parts = append([]string{id.Group}, parts...)
	}
	name := strings.Join(parts, "_")
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == ':' || r == '\\' {
			return '-'
		}
		return r
	}, name)
	return name + ".yaml"
}

// OutputFiles renders objs as the files of an output directory, by name.
func OutputFiles(objs []*Object) (map[string][]byte, error) {
	out := make(map[string][]byte, len(objs))
	for _, o := range objs {
		b, err := MarshalObject(o)
		if err != nil {
			return nil, err
		}
		out[OutputFile(o)] = b
	}
	return out, nil
}

// OutputError is a refused or failed write of an output directory.
type OutputError struct {
	Path string // slash-separated, relative to the output root
	Err  error
}

func (e *OutputError) Error() string { return fmt.Sprintf("output %s: %v", e.Path, e.Err) }
func (e *OutputError) Unwrap() error { return e.Err }

// ErrSymlink refuses a symlink in an output path.
var ErrSymlink = errors.New("is a symlink: steward writes no output through symlinks")

// WriteOutput makes dir (slash-separated, relative to root) hold exactly files
// as its YAML files: stale .yaml files are removed, everything else in dir is
// left alone. Each file is written to a temporary name and renamed into
// place. A symlink anywhere in the path, or as a file in dir, is refused
// before anything is changed.
func WriteOutput(root *os.Root, dir string, files map[string][]byte) error {
	dir = path.Clean(dir)
	if err := mkdirNoFollow(root, dir); err != nil {
		return err
	}
	sub, err := root.OpenRoot(dir)
	if err != nil {
		return &OutputError{dir, err}
	}
	defer sub.Close()
	entries, err := fs.ReadDir(sub.FS(), ".")
	if err != nil {
		return &OutputError{dir, err}
	}
	var stale []string
	for _, e := range entries {
		_, want := files[e.Name()]
		if !want && !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			return &OutputError{path.Join(dir, e.Name()), ErrSymlink}
		case e.IsDir() && want:
			return &OutputError{path.Join(dir, e.Name()), errors.New("is a directory")}
		case !e.IsDir() && !want:
			stale = append(stale, e.Name())
		}
	}
	for _, name := range stale {
		if err := sub.Remove(name); err != nil {
			return &OutputError{path.Join(dir, name), err}
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := writeReplace(sub, name, files[name]); err != nil {
			return &OutputError{path.Join(dir, name), err}
		}
	}
	return nil
}

// mkdirNoFollow creates dir and its parents under root, refusing any
// component that is a symlink or not a directory.
func mkdirNoFollow(root *os.Root, dir string) error {
	if dir == "." {
		return nil
	}
	cur := ""
	for _, part := range strings.Split(dir, "/") {
		cur = path.Join(cur, part)
		fi, err := root.Lstat(cur)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := root.Mkdir(cur, 0o755); err != nil {
				return &OutputError{cur, err}
			}
		case err != nil:
			return &OutputError{cur, err}
		case fi.Mode()&fs.ModeSymlink != 0:
			return &OutputError{cur, ErrSymlink}
		case !fi.IsDir():
			return &OutputError{cur, errors.New("is not a directory")}
		}
	}
	return nil
}

// writeReplace writes data to a new temporary file in dir and renames it
// over name: the rename replaces whatever is at name, never writing through
// it, and a reader sees the old or the new file, never half of one.
func writeReplace(dir *os.Root, name string, data []byte) error {
	tmp := fmt.Sprintf(".%s.steward-tmp", name)
	_ = dir.Remove(tmp)
	f, err := dir.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		_ = dir.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		_ = dir.Remove(tmp)
		return err
	}
	if err := dir.Rename(tmp, name); err != nil {
		_ = dir.Remove(tmp)
		return err
	}
	return nil
}

// CompareOutput compares a unit's generated objects with its committed
// output directory dir in tree and returns one unified diff per differing
// file, sensitive values masked (MaskPair), in file order.
func CompareOutput(tree fs.FS, dir string, objs []*Object) ([]string, error) {
	want := make(map[string]*Object, len(objs))
	for _, o := range objs {
		want[OutputFile(o)] = o
	}
	committed := map[string][]byte{}
	entries, err := fs.ReadDir(tree, dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read output %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		b, err := fs.ReadFile(tree, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read output: %w", err)
		}
		committed[e.Name()] = b
	}
	names := make([]string, 0, len(want)+len(committed))
	for n := range want {
		names = append(names, n)
	}
	for n := range committed {
		if _, ok := want[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var diffs []string
	for _, name := range names {
		file := path.Join(dir, name)
		old, cur, err := maskedOutputPair(committed[name], file, want[name])
		if err != nil {
			return nil, err
		}
		if bytes.Equal(old, cur) {
			continue
		}
		oldName, newName := "committed/"+file, "generated/"+file
		if committed[name] == nil {
			oldName = "/dev/null"
		}
		if want[name] == nil {
			newName = "/dev/null"
		}
		diffs = append(diffs, UnifiedDiff(oldName, newName, string(old), string(cur)))
	}
	return diffs, nil
}

// maskedOutputPair renders the committed bytes and the generated object for
// comparison, masking sensitive values on both sides.
func maskedOutputPair(committed []byte, file string, gen *Object) (old, cur []byte, err error) {
	var committedObj *Object
	if committed != nil {
		if objs, err := DecodeObjects(committed, file); err == nil && len(objs) == 1 {
			committedObj = objs[0]
		}
	}
	if !IsSensitive(committedObj) && !IsSensitive(gen) {
		if gen != nil {
			if cur, err = MarshalObject(gen); err != nil {
				return nil, nil, err
			}
		}
		return committed, cur, nil
	}
	a, b := MaskPair(committedObj, gen)
	if a != nil {
		if old, err = MarshalObject(a); err != nil {
			return nil, nil, err
		}
	}
	if b != nil {
		if cur, err = MarshalObject(b); err != nil {
			return nil, nil, err
		}
	}
	if committed != nil && committedObj == nil {
		old = []byte("*** (not a single object)\n")
	}
	return old, cur, nil
}

// CompareOutputs compares the committed output of every unit of g that
// declares one and generated, and returns one problem per differing file.
func (g *Generation) CompareOutputs() Errors {
	var problems Errors
	for _, r := range g.Units {
		if r.Err != nil || r.Unit.Output == "" || len(r.Undecrypted) > 0 {
			continue // failed, no output, or not checked (ciphertext)
		}
		diffs, err := CompareOutput(g.Revision.Tree, r.Unit.Output, r.OutputObjects())
		if err != nil {
			problems = append(problems, &UnitError{Unit: r.Unit.Name, Err: err})
			continue
		}
		for _, d := range diffs {
			problems = append(problems, fmt.Errorf("unit %s: committed output differs from generated (steward build --update-outputs):\n%s", r.Unit.Name, d))
		}
	}
	return problems
}
