package main

import (
	"bytes"
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

// objectFile names the file an object is written to by `build -o` and in a
// unit's committed output: [group_]Kind_[namespace_]name.yaml.
func objectFile(o *reconcile.Object) string {
	id := reconcile.IDOf(o)
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

// renderFiles returns the files of an object set, by file name.
func renderFiles(objs []*reconcile.Object) (map[string][]byte, error) {
	out := make(map[string][]byte, len(objs))
	for _, o := range objs {
		b, err := reconcile.MarshalObject(o)
		if err != nil {
			return nil, err
		}
		out[objectFile(o)] = b
	}
	return out, nil
}

// writeFiles replaces the YAML files of dir with files: stale .yaml files are
// removed, everything else in dir is left alone.
func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if _, keep := files[e.Name()]; !keep && !e.IsDir() && strings.HasSuffix(e.Name(), ".yaml") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// compareOutput compares a unit's generated objects with its committed
// output directory in tree and returns one unified diff per differing file
// (secrets masked), in file order.
func compareOutput(tree fs.FS, dir string, objs []*reconcile.Object) ([]string, error) {
	want := make(map[string]*reconcile.Object, len(objs))
	for _, o := range objs {
		want[objectFile(o)] = o
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
		gen, err := maskedPair(committed[name], file, want[name])
		if err != nil {
			return nil, err
		}
		old, cur := gen[0], gen[1]
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
		diffs = append(diffs, reconcile.UnifiedDiff(oldName, newName, string(old), string(cur)))
	}
	return diffs, nil
}

// maskedPair renders the committed bytes and the generated object for
// comparison, masking Secret values on both sides.
func maskedPair(committed []byte, file string, gen *reconcile.Object) ([2][]byte, error) {
	var committedObj *reconcile.Object
	if committed != nil {
		if objs, err := reconcile.DecodeObjects(committed, file); err == nil && len(objs) == 1 {
			committedObj = objs[0]
		}
	}
	if !reconcile.IsSecret(committedObj) && !reconcile.IsSecret(gen) {
		var g []byte
		if gen != nil {
			var err error
			if g, err = reconcile.MarshalObject(gen); err != nil {
				return [2][]byte{}, err
			}
		}
		return [2][]byte{committed, g}, nil
	}
	a, b := reconcile.MaskSecrets(committedObj, gen)
	var out [2][]byte
	for i, o := range []*reconcile.Object{a, b} {
		if o == nil {
			continue
		}
		y, err := reconcile.MarshalObject(o)
		if err != nil {
			return out, err
		}
		out[i] = y
	}
	if committed != nil && committedObj == nil {
		out[0] = []byte("*** (not a single object)\n")
	}
	return out, nil
}
