package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Hasher is an optional interface of trees that know a file's content hash
// without reading it (a git tree knows its blob ids).
type Hasher interface {
	Hash(name string) (string, error)
}

// readKind is how a generator looked at a path.
type readKind byte

const (
	readContent readKind = 'c' // opened or read: content (file) or listing (directory)
	readStat    readKind = 's' // stat: existence and type
	readLink    readKind = 'l' // lstat or readlink: symlink target
)

// recordingFS passes everything to the tree and records what was looked at,
// so the generation cache knows a unit's real inputs — including files
// outside the unit's path, such as a kustomize base or a shared chart.
type recordingFS struct {
	tree  fs.FS
	mu    sync.Mutex
	reads map[string]readKind
}

var (
	_ fs.ReadFileFS = (*recordingFS)(nil)
	_ fs.ReadDirFS  = (*recordingFS)(nil)
	_ fs.StatFS     = (*recordingFS)(nil)
	_ fs.ReadLinkFS = (*recordingFS)(nil)
)

func newRecordingFS(tree fs.FS) *recordingFS {
	return &recordingFS{tree: tree, reads: map[string]readKind{}}
}

func (r *recordingFS) record(name string, k readKind) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if prev, ok := r.reads[name]; !ok || k == readContent || (k == readLink && prev == readStat) {
		r.reads[name] = k
	}
}

func (r *recordingFS) Open(name string) (fs.File, error) {
	r.record(name, readContent)
	return r.tree.Open(name)
}

func (r *recordingFS) ReadFile(name string) ([]byte, error) {
	r.record(name, readContent)
	return fs.ReadFile(r.tree, name)
}

func (r *recordingFS) ReadDir(name string) ([]fs.DirEntry, error) {
	r.record(name, readContent)
	return fs.ReadDir(r.tree, name)
}

func (r *recordingFS) Stat(name string) (fs.FileInfo, error) {
	r.record(name, readStat)
	return fs.Stat(r.tree, name)
}

func (r *recordingFS) Lstat(name string) (fs.FileInfo, error) {
	r.record(name, readLink)
	return fs.Lstat(r.tree, name)
}

func (r *recordingFS) ReadLink(name string) (string, error) {
	r.record(name, readLink)
	return fs.ReadLink(r.tree, name)
}

// Hash passes through to the tree, so generators see the same abilities.
func (r *recordingFS) Hash(name string) (string, error) {
	r.record(name, readContent)
	return digest(r.tree, name, readContent), nil
}

// inputs returns the recorded reads with the digest of each in the tree
// and, when the tree is on disk at dir, its stat stamp.
func (r *recordingFS) inputs(dir string) []input {
	r.mu.Lock()
	reads := maps.Clone(r.reads)
	r.mu.Unlock()
	out := make([]input, 0, len(reads))
	for _, name := range slices.Sorted(maps.Keys(reads)) {
		k := reads[name]
		out = append(out, input{Path: name, Kind: k, Digest: digest(r.tree, name, k), Stamp: stamp(dir, name, k)})
	}
	return out
}

// input is one thing a generation depended on.
type input struct {
	Path   string   `json:"p"`
	Kind   readKind `json:"k"`
	Digest string   `json:"d"`
	Stamp  string   `json:"s,omitempty"`
}

// racyWindow is how recent a change may be for a stamp not to be trusted:
// a file written again within the same clock tick as the stamp was taken
// could keep size and time (git's "racily clean" entries).
const racyWindow = 2 * time.Second

// stamp is the stat data of name under dir on disk (size, modification
// time, inode, mode), or "" when there is no disk tree or the entry changed
// too recently to be trusted. An unchanged stamp stands for an unchanged
// digest, the way git's index avoids rereading files; a directory's stamp
// changes when an entry is added, removed or renamed.
func stamp(dir, name string, k readKind) string {
	if dir == "" {
		return ""
	}
	p := filepath.Join(dir, filepath.FromSlash(name))
	stat := os.Stat
	if k == readLink {
		stat = os.Lstat
	}
	info, err := stat(p)
	if err != nil {
		return ""
	}
	if time.Since(info.ModTime()) < racyWindow {
		return ""
	}
	var ino uint64
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		ino = st.Ino
	}
	return fmt.Sprintf("%d:%d:%d:%o", info.Size(), info.ModTime().UnixNano(), ino, info.Mode())
}

// unchanged reports whether in is as it was recorded: by its stamp when the
// tree is on disk and the stamp matches, else by its digest.
func (in input) unchanged(tree fs.FS, dir string) bool {
	if in.Stamp != "" && stamp(dir, in.Path, in.Kind) == in.Stamp {
		return true
	}
	return digest(tree, in.Path, in.Kind) == in.Digest
}

// digest summarises what a generator saw at name in tree.
func digest(tree fs.FS, name string, k readKind) string {
	switch k {
	case readLink:
		info, err := fs.Lstat(tree, name)
		if err != nil {
			return missingDigest(err)
		}
		if info.Mode()&fs.ModeSymlink != 0 {
			target, err := fs.ReadLink(tree, name)
			if err != nil {
				return "error"
			}
			return "link:" + target
		}
		return "type:" + info.Mode().Type().String()
	case readStat:
		info, err := fs.Stat(tree, name)
		if err != nil {
			return missingDigest(err)
		}
		return "type:" + info.Mode().String()
	}
	if hs, ok := tree.(Hasher); ok {
		if info, err := fs.Stat(tree, name); err == nil && !info.IsDir() {
			if sum, err := hs.Hash(name); err == nil {
				return "blob:" + sum + ":" + info.Mode().Perm().String()
			}
		}
	}
	// One open per input: resolving a path in an os.Root costs a walk.
	f, err := tree.Open(name)
	if err != nil {
		return missingDigest(err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "error"
	}
	if info.IsDir() {
		d, ok := f.(fs.ReadDirFile)
		if !ok {
			return "error"
		}
		entries, err := d.ReadDir(-1)
		if err != nil {
			return "error"
		}
		slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
		h := sha256.New()
		for _, e := range entries {
			h.Write([]byte(e.Name()))
			h.Write([]byte{0, byte(e.Type() >> 24)})
		}
		return "dir:" + hex.EncodeToString(h.Sum(nil))
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "error"
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)) + ":" + info.Mode().Perm().String()
}

func missingDigest(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "missing"
	}
	return "error"
}

// walkInputs records every file and directory under the given paths: the
// inputs of a hermetic command generator, which reads the disk directly.
func walkInputs(tree fs.FS, dir string, roots []string) ([]input, error) {
	seen := map[string]bool{}
	var out []input
	for _, root := range roots {
		root = path.Clean(root)
		err := fs.WalkDir(tree, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					out = append(out, input{Path: p, Kind: readContent, Digest: "missing"})
					return nil
				}
				return err
			}
			if d.IsDir() && d.Name() == ".git" && p != root {
				return fs.SkipDir
			}
			if seen[p] {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			seen[p] = true
			out = append(out, input{Path: p, Kind: readContent, Digest: digest(tree, p, readContent), Stamp: stamp(dir, p, readContent)})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
