package packages

import (
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/stewardhq/steward/reconcile"
)

// MaxManifestBytes caps a steward-package.yaml.
const MaxManifestBytes = 1 << 20

// Package is a package directory read: its manifest and its compiled
// parameters schema.
type Package struct {
	Manifest *reconcile.PackageManifest
	Schema   *Schema
}

// Load reads the package in dir of tree. file is how errors name the
// manifest (its path for the reader, e.g. "https://git.example.com/ops//postgres/steward-package.yaml").
func Load(tree fs.FS, dir, file string) (*Package, error) {
	p := path.Join(dir, reconcile.PackageFile)
	fi, err := fs.Stat(tree, p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: not found: the directory holds no package", file)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", file, err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("%s: not a regular file", file)
	case fi.Size() > MaxManifestBytes:
		return nil, fmt.Errorf("%s: %d bytes, more than the limit of %d", file, fi.Size(), MaxManifestBytes)
	}
	data, err := fs.ReadFile(tree, p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	m, err := reconcile.ParsePackageManifest(data, file)
	if err != nil {
		return nil, err
	}
	sch, err := CompileSchema(m.Parameters)
	if err != nil {
		return nil, &reconcile.FieldError{File: file, Pos: m.Pos("parameters"), Field: "parameters", Msg: err.Error()}
	}
	return &Package{Manifest: m, Schema: sch}, nil
}
