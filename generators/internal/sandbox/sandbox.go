// Package sandbox runs an in-process generator (helm, jsonnet) in a child
// process, so that a revision whose templates blow up — a string doubled
// forty times, `range until 300000000`, a jsonnet recursion — fails its unit
// instead of killing steward. The child is steward's own executable re-run as
// "steward-generator-sandbox KIND" (the generator package calls Serve from its
// init); its data segment — the heap Go maps — is limited (RLIMIT_DATA; the
// address space would not do, the Go runtime reserves over 1 GiB of it
// up front), what it sends back is capped in bytes, and the context's end
// kills it.
//
// The child reads the revision only through the parent: every file, stat,
// listing and link it asks for is answered from the request's tree, so the
// tree's confinement and the generation cache's input recording hold as in
// process. Errors come back as text, with their file and line
// (reconcile.SourceError) and whether they are fs.ErrNotExist or
// reconcile.ErrMissingField; other error types do not cross.
package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// arg0 is the argv[0] of a sandbox child.
const arg0 = "steward-generator-sandbox"

// Limits bound one sandboxed generation.
type Limits struct {
	// MaxMemory is the child's data segment, in bytes (RLIMIT_DATA).
	MaxMemory int64
	// MaxOutput is the generator's output cap, in bytes, which the child
	// applies; the parent reads at most twice that (plus 1 MiB) from it, the
	// objects re-encoded and its requests together.
	MaxOutput int64
}

// DefaultLimits allows 2 GiB of memory and 64 MiB of output (the command
// generator's default maxOutput).
func DefaultLimits() Limits { return Limits{MaxMemory: 2 << 30, MaxOutput: 64 << 20} }

// Factory builds the generator for a spec sent by the parent, with the
// output cap of the parent's Limits.
type Factory func(spec json.RawMessage, maxOutput int64) (reconcile.Generator, error)

// MemoryError is a generator that ran out of its address space.
type MemoryError struct{ Limit int64 }

func (e *MemoryError) Error() string {
	return fmt.Sprintf("generator ran out of memory (limit %d MiB): the revision's templates build more than that", e.Limit>>20)
}

// OutputLimitError is a generator whose output passed MaxOutput.
type OutputLimitError struct{ Limit int64 }

func (e *OutputLimitError) Error() string {
	return fmt.Sprintf("generator output exceeds %d bytes", e.Limit)
}

// message is one line of the protocol, either way.
type message struct {
	Op string `json:"op"`

	// start (parent → child)
	Spec      json.RawMessage  `json:"spec,omitempty"`
	Dir       string           `json:"dir,omitempty"`
	Namespace string           `json:"namespace,omitempty"`
	Revision  string           `json:"revision,omitempty"`
	Unit      *reconcile.Unit  `json:"unit,omitempty"`
	Inputs    reconcile.Inputs `json:"inputs,omitempty"`
	Params    map[string]any   `json:"params,omitempty"`
	MaxMemory int64            `json:"maxMemory,omitempty"`
	MaxOutput int64            `json:"maxOutput,omitempty"`

	// file system requests (child → parent) and replies
	Name    string     `json:"name,omitempty"`
	Data    []byte     `json:"data,omitempty"`
	Info    *fileInfo  `json:"info,omitempty"`
	Entries []fileInfo `json:"entries,omitempty"`
	Target  string     `json:"target,omitempty"`
	Err     *wireError `json:"err,omitempty"`

	// log (child → parent)
	Level int    `json:"level,omitempty"`
	Msg   string `json:"msg,omitempty"`
	Attrs []any  `json:"attrs,omitempty"`

	// result (child → parent)
	Objects []json.RawMessage `json:"objects,omitempty"`
}

// Protocol operations.
const (
	opStart    = "start"
	opReply    = "reply"
	opReadFile = "readfile"
	opStat     = "stat"
	opLstat    = "lstat"
	opReadDir  = "readdir"
	opReadLink = "readlink"
	opLog      = "log"
	opResult   = "result"
	opError    = "error"
)

// fileInfo is an fs.FileInfo (and fs.DirEntry) as it crosses the boundary.
type fileInfo struct {
	N  string      `json:"name"`
	S  int64       `json:"size"`
	M  fs.FileMode `json:"mode"`
	MT time.Time   `json:"modTime"`
}

func infoOf(fi fs.FileInfo) *fileInfo {
	return &fileInfo{N: fi.Name(), S: fi.Size(), M: fi.Mode(), MT: fi.ModTime()}
}

func (f *fileInfo) Name() string               { return f.N }
func (f *fileInfo) Size() int64                { return f.S }
func (f *fileInfo) Mode() fs.FileMode          { return f.M }
func (f *fileInfo) ModTime() time.Time         { return f.MT }
func (f *fileInfo) IsDir() bool                { return f.M.IsDir() }
func (f *fileInfo) Sys() any                   { return nil }
func (f *fileInfo) Type() fs.FileMode          { return f.M.Type() }
func (f *fileInfo) Info() (fs.FileInfo, error) { return f, nil }

// wireError is an error as it crosses the process boundary.
type wireError struct {
	Msg          string `json:"msg"`
	File         string `json:"file,omitempty"`
	Line         int    `json:"line,omitempty"`
	NotExist     bool   `json:"notExist,omitempty"`
	Permission   bool   `json:"permission,omitempty"`
	MissingField bool   `json:"missingField,omitempty"`
}

func toWire(err error) *wireError {
	if err == nil {
		return nil
	}
	w := &wireError{Msg: err.Error(),
		NotExist:     errors.Is(err, fs.ErrNotExist),
		Permission:   errors.Is(err, fs.ErrPermission),
		MissingField: errors.Is(err, reconcile.ErrMissingField)}
	var se *reconcile.SourceError
	if errors.As(err, &se) && se.Error() == err.Error() {
		w.File, w.Line, w.Msg = se.File, se.Line, se.Err.Error()
	}
	return w
}

// remoteError is an error of the child, matching the sentinels it matched
// there.
type remoteError struct{ w *wireError }

func (e *remoteError) Error() string { return e.w.Msg }

func (e *remoteError) Is(target error) bool {
	switch target {
	case fs.ErrNotExist:
		return e.w.NotExist
	case fs.ErrPermission:
		return e.w.Permission
	case reconcile.ErrMissingField:
		return e.w.MissingField
	}
	return false
}

func fromWire(w *wireError) error {
	if w == nil {
		return nil
	}
	var err error = &remoteError{w: w}
	if w.File != "" {
		err = &reconcile.SourceError{File: w.File, Line: w.Line, Err: err}
	}
	return err
}
