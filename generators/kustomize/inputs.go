package kustomize

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// InputsFile is the file a kustomization lists in its resources to read
// the unit's inputs: steward serves it in the unit's directory, a ConfigMap
// named InputsConfigMap whose data holds each input by name, for
// replacements to take values from:
//
//	resources: [deployment.yaml, steward-inputs.yaml]
//	replacements:
//	  - source: {kind: ConfigMap, name: steward-inputs, fieldPath: data.dbHost}
//	    targets: [{select: {kind: Deployment}, fieldPaths: [spec.template.spec.containers.0.env.0.value]}]
//
// The ConfigMap is local configuration (config.kubernetes.io/local-config):
// kustomize uses it and leaves it out of the objects. It exists only when
// the unit has inputs, and shadows a committed file of that name.
const (
	InputsFile      = "steward-inputs.yaml"
	InputsConfigMap = "steward-inputs"
)

// inputsConfigMap renders the inputs as the ConfigMap of InputsFile.
func inputsConfigMap(in reconcile.Inputs) []byte {
	var b bytes.Buffer
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + InputsConfigMap +
		"\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\ndata:\n")
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range in {
			if !yield(k) {
				return
			}
		}
	}) {
		kq, _ := json.Marshal(k)
		vq, _ := json.Marshal(in[k].Value)
		b.WriteString("  " + string(kq) + ": " + string(vq) + "\n")
	}
	return b.Bytes()
}

// withInputs returns tree with InputsFile served in dir when the unit has
// inputs, else tree itself.
func withInputs(tree fs.FS, dir string, in reconcile.Inputs) fs.FS {
	if len(in) == 0 {
		return tree
	}
	return &inputsTree{FS: tree, name: path.Join(dir, InputsFile), data: inputsConfigMap(in)}
}

// inputsTree is a tree with one more file, held in memory.
type inputsTree struct {
	fs.FS
	name string
	data []byte
}

var (
	_ fs.ReadFileFS = (*inputsTree)(nil)
	_ fs.ReadDirFS  = (*inputsTree)(nil)
	_ fs.StatFS     = (*inputsTree)(nil)
	_ fs.ReadLinkFS = (*inputsTree)(nil)
)

func (t *inputsTree) Open(name string) (fs.File, error) {
	if name == t.name {
		return &inputsFile{Reader: bytes.NewReader(t.data), info: t.info()}, nil
	}
	return t.FS.Open(name)
}

func (t *inputsTree) ReadFile(name string) ([]byte, error) {
	if name == t.name {
		return bytes.Clone(t.data), nil
	}
	return fs.ReadFile(t.FS, name)
}

func (t *inputsTree) Stat(name string) (fs.FileInfo, error) {
	if name == t.name {
		return t.info(), nil
	}
	return fs.Stat(t.FS, name)
}

func (t *inputsTree) Lstat(name string) (fs.FileInfo, error) {
	if name == t.name {
		return t.info(), nil
	}
	return fs.Lstat(t.FS, name)
}

func (t *inputsTree) ReadLink(name string) (string, error) {
	if name == t.name {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return fs.ReadLink(t.FS, name)
}

// ReadDir lists the file in its directory too.
func (t *inputsTree) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(t.FS, name)
	if err != nil || name != path.Dir(t.name) {
		return entries, err
	}
	base := path.Base(t.name)
	entries = slices.DeleteFunc(entries, func(e fs.DirEntry) bool { return e.Name() == base })
	entries = append(entries, fs.FileInfoToDirEntry(t.info()))
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

func (t *inputsTree) info() fs.FileInfo {
	return inputsInfo{name: path.Base(t.name), size: int64(len(t.data))}
}

type inputsInfo struct {
	name string
	size int64
}

func (i inputsInfo) Name() string       { return i.name }
func (i inputsInfo) Size() int64        { return i.size }
func (i inputsInfo) Mode() fs.FileMode  { return 0o444 }
func (i inputsInfo) ModTime() time.Time { return time.Time{} }
func (i inputsInfo) IsDir() bool        { return false }
func (i inputsInfo) Sys() any           { return nil }

type inputsFile struct {
	*bytes.Reader
	info fs.FileInfo
}

func (f *inputsFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *inputsFile) Close() error               { return nil }
