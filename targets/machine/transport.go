package machine

import (
	"context"
	"crypto/sha256"
	"io"
	"io/fs"
	"time"
)

// Transport reaches one host. Paths are absolute paths on the host; the
// machine target has already put them under the target's root. Methods
// return errors matching fs.ErrNotExist for missing files.
//
// Implementations: targets/machine/ssh and targets/machine/local.
// Further abilities are optional interfaces found by type assertion.
type Transport interface {
	// Host names the host in reports ("web1:22", "local").
	Host() string
	// Stat describes path without following a final symlink.
	Stat(ctx context.Context, path string) (*FileInfo, error)
	// ReadFile returns the content of path.
	ReadFile(ctx context.Context, path string) ([]byte, error)
	// WriteFile replaces path atomically: a temporary file in the same
	// directory is written, synced, given attrs, then renamed over path, so
	// a reader sees wholly the old or wholly the new content.
	WriteFile(ctx context.Context, path string, content io.Reader, attrs FileAttrs) error
	// Mkdir creates path (one level) with attrs; an existing directory is
	// not an error.
	Mkdir(ctx context.Context, path string, attrs FileAttrs) error
	// SetAttrs changes mode, owner and group of path (zero fields unchanged).
	SetAttrs(ctx context.Context, path string, attrs FileAttrs) error
	// Remove deletes a file or an empty directory.
	Remove(ctx context.Context, path string) error
	// ReadDir lists the names of a directory's entries; a missing directory
	// is fs.ErrNotExist. The target lists the inventories of a host's units
	// with it: removed units are collected, and a prune sees an object
	// another unit took over.
	ReadDir(ctx context.Context, path string) ([]string, error)
	// Run runs argv on the host (no shell) and waits for it. A non-zero exit
	// is reported in the result, not as an error; err is for failures to run.
	Run(ctx context.Context, cmd Cmd) (*CmdResult, error)
	// Close releases the connection.
	Close() error
}

// FileInfo describes a file on a host.
type FileInfo struct {
	Mode    fs.FileMode // type and permission bits
	UID     int
	GID     int
	Size    int64
	ModTime time.Time
}

// IsDir reports whether the file is a directory.
func (fi *FileInfo) IsDir() bool { return fi.Mode.IsDir() }

// FileAttrs are the attributes set on a written file or directory. UID and GID
// of -1 leave ownership as the transport creates it.
type FileAttrs struct {
	Mode fs.FileMode // permission bits; 0 means the default (0644 files, 0755 directories)
	UID  int
	GID  int
}

// Cmd is a command to run on a host.
type Cmd struct {
	Argv  []string
	Env   map[string]string // added to the host's environment
	Dir   string            // working directory ("" is the transport's default)
	Stdin io.Reader
}

// CmdResult is the outcome of a command that ran.
type CmdResult struct {
	ExitCode int
	Stdout   []byte
	Stderr   []byte
}

// FileMatcher is a Transport that can describe a file and tell whether it
// holds given content in one call, and that may answer without reading a
// file it has read before and has seen unchanged since. The File kind
// plans with it when the transport has it (package local does).
type FileMatcher interface {
	// MatchFile describes path without following a final symlink, like
	// Stat (a missing path is fs.ErrNotExist), and reports whether it is a
	// regular file holding exactly want.
	MatchFile(ctx context.Context, path string, want []byte) (*FileMatch, error)
}

// FileSumReader is a Transport that may answer, without reading it, that a
// file still holds what a read of it found. The target reads each unit's
// inventory with it when the transport has it (package local does).
type FileSumReader interface {
	// ReadFileUnlessSum returns the content of path, as ReadFile, or nil
	// and true when path is a regular file seen unchanged since a read
	// found it holding content whose SHA-256 is sum.
	ReadFileUnlessSum(ctx context.Context, path string, sum [sha256.Size]byte) ([]byte, bool, error)
}

// FileMatch is what MatchFile found.
type FileMatch struct {
	Info *FileInfo
	// Same is set when the file is a regular file holding exactly the
	// wanted content.
	Same bool
	// Content is the file's content when it is a regular file and not
	// Same (the plan shows it in the diff).
	Content []byte
}
