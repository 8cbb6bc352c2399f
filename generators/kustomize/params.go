package kustomize

import (
	"encoding/json"
	"errors"
	"io/fs"
	"path"
	"slices"
	"testing/fstest"
)

// ParamsComponent is the directory, next to a package's kustomization,
// of the component that carries the package's parameters: a kustomization
// lists it in components: and takes values from it with replacements:
//
//	components: [steward-params]
//	replacements:
//	  - source: {kind: Parameters, name: steward-params, fieldPath: spec.replicas}
//	    targets: [{select: {kind: Deployment}, fieldPaths: [spec.replicas]}]
//
// The Parameters object is local configuration: it is not in the output.
const ParamsComponent = "steward-params"

// paramsFS is a tree with the parameters component added under dir.
type paramsFS struct {
	base fs.FS
	dir  string // the unit's directory
	add  fstest.MapFS
}

// withParams returns tree with the parameters component of params under
// dir (params nil: tree itself).
func withParams(tree fs.FS, dir string, params map[string]any) (fs.FS, error) {
	if params == nil {
		return tree, nil
	}
	spec, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	obj := `{"apiVersion":"steward.dev/v1","kind":"Parameters","metadata":{"name":"steward-params","annotations":{"config.kubernetes.io/local-config":"true"}},"spec":` + string(spec) + "}\n"
	comp := path.Join(dir, ParamsComponent)
	return &paramsFS{base: tree, dir: dir, add: fstest.MapFS{
		path.Join(comp, "kustomization.yaml"): {Data: []byte("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [params.json]\n")},
		path.Join(comp, "params.json"):        {Data: []byte(obj)},
	}}, nil
}

// virtual reports whether name is the component or in it.
func (p *paramsFS) virtual(name string) bool {
	comp := path.Join(p.dir, ParamsComponent)
	return name == comp || (len(name) > len(comp) && name[:len(comp)+1] == comp+"/")
}

func (p *paramsFS) Open(name string) (fs.File, error) {
	if p.virtual(name) {
		return p.add.Open(name)
	}
	return p.base.Open(name)
}

func (p *paramsFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if p.virtual(name) {
		return p.add.ReadDir(name)
	}
	entries, err := fs.ReadDir(p.base, name)
	if err != nil || path.Clean(name) != path.Clean(p.dir) {
		return entries, err
	}
	comp, err := p.add.ReadDir(p.dir)
	if err != nil {
		return nil, err
	}
	entries = slices.DeleteFunc(entries, func(e fs.DirEntry) bool { return e.Name() == ParamsComponent })
	entries = append(entries, comp...)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int {
		if a.Name() < b.Name() {
			return -1
		}
		return 1
	})
	return entries, nil
}

func (p *paramsFS) Stat(name string) (fs.FileInfo, error) {
	if p.virtual(name) {
		return p.add.Stat(name)
	}
	return fs.Stat(p.base, name)
}

func (p *paramsFS) Lstat(name string) (fs.FileInfo, error) {
	if p.virtual(name) {
		return p.add.Stat(name)
	}
	if rl, ok := p.base.(fs.ReadLinkFS); ok {
		return rl.Lstat(name)
	}
	return fs.Stat(p.base, name)
}

func (p *paramsFS) ReadLink(name string) (string, error) {
	if rl, ok := p.base.(fs.ReadLinkFS); ok && !p.virtual(name) {
		return rl.ReadLink(name)
	}
	return "", &fs.PathError{Op: "readlink", Path: name, Err: errors.New("not a symlink")}
}
