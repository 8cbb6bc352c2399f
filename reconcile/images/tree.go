package images

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

// MarkerDirs are the directories whose YAML files may hold markers: every
// unit's path and extraPaths, each once.
func MarkerDirs(s *reconcile.Stack) []string {
	seen := map[string]bool{}
	var dirs []string
	add := func(p string) {
		p = path.Clean(p)
		if !seen[p] {
			seen[p] = true
			dirs = append(dirs, p)
		}
	}
	for _, u := range s.Units {
		if u.Package != nil {
			continue // its files are the package's, not the repository's
		}
		add(u.Path)
		for _, p := range u.ExtraPaths {
			add(p)
		}
	}
	return dirs
}

// FindInTree lists the markers of every .yaml and .yml file under dirs in
// tree (hidden files and directories skipped, each file once), in path
// order. A directory that does not exist holds no markers.
func FindInTree(tree fs.FS, dirs []string) ([]Marker, []Warning, error) {
	files := map[string]bool{}
	for _, dir := range dirs {
		err := fs.WalkDir(tree, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == dir && errorsIsNotExist(err) {
					return fs.SkipDir
				}
				return err
			}
			name := d.Name()
			if p != dir && strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
				files[p] = true
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("find markers under %s: %w", dir, err)
		}
	}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var markers []Marker
	var warns []Warning
	for _, p := range paths {
		data, err := fs.ReadFile(tree, p)
		if err != nil {
			return nil, nil, fmt.Errorf("find markers: %w", err)
		}
		m, w := Find(p, data)
		markers = append(markers, m...)
		warns = append(warns, w...)
	}
	return markers, warns, nil
}

func errorsIsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// MarkerError is a marker that names no policy of the stack.
type MarkerError struct {
	Marker   Marker
	Policies []string
}

func (e *MarkerError) Error() string {
	return fmt.Sprintf("%s:%d: marker names no policy %q (policies: %s)", e.Marker.File, e.Marker.Line, e.Marker.Policy, strings.Join(e.Policies, ", "))
}

// CheckMarkers refuses markers naming a policy the stack does not have,
// one *MarkerError each, for `steward verify`.
func CheckMarkers(s *reconcile.Stack, markers []Marker) error {
	var names []string
	if s.Images != nil {
		for _, p := range s.Images.Policies {
			names = append(names, p.Name)
		}
	}
	slices.Sort(names)
	var errs reconcile.Errors
	for _, m := range markers {
		if _, ok := slices.BinarySearch(names, m.Policy); !ok {
			errs = append(errs, &MarkerError{Marker: m, Policies: names})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
