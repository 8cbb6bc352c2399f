package local

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stewardhq/steward/targets/machine"
)

var _ machine.Transport = (*Transport)(nil)

// Transport reaches this host. Every path is put under Root and
// confined there (an os.Root: symlinks cannot lead out of it), so several
// "hosts" on one machine keep separate trees. Commands run as they are,
// with a clean environment: steward's PATH and HOME, then Env.
type Transport struct {
	name string
	root string
	env  map[string]string

	// seen is what this transport's dialer has read (shared by the
	// transports it dials): the content of files found as wanted, and
	// counts of the file system calls reads made.
	seen *seenFiles

	mu   sync.Mutex
	r    *os.Root
	dirs dirCache // directories opened for reads, closed with the root
}

// NewTransport returns a transport named name (reported as the host)
// working under the directory root ("/" for the whole host). The root is
// created on the first write. env is added to every command's environment;
// a PATH in it is also where programs are looked up.
func NewTransport(name, root string, env map[string]string) (*Transport, error) {
	return newTransport(name, root, env, newSeenFiles())
}

// newTransport is NewTransport sharing seen with other transports.
func newTransport(name, root string, env map[string]string, seen *seenFiles) (*Transport, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("local root: %w", err)
	}
	return &Transport{name: name, root: abs, env: env, seen: seen}, nil
}

// Host names the host in reports.
func (t *Transport) Host() string { return t.name }

// Root is the directory paths are put under.
func (t *Transport) Root() string { return t.root }

// at checks ctx and returns the root and p relative to it.
func (t *Transport) at(ctx context.Context, p string, create bool) (*os.Root, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	r, err := t.open(create)
	if err != nil {
		return nil, "", err
	}
	rp, err := rel(p)
	if err != nil {
		return nil, "", err
	}
	return r, rp, nil
}

// open returns the os.Root, creating the directory when create is set.
// Without it, a missing root reads as fs.ErrNotExist.
func (t *Transport) open(create bool) (*os.Root, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.openLocked(create)
}

func (t *Transport) openLocked(create bool) (*os.Root, error) {
	if t.r != nil {
		return t.r, nil
	}
	if create {
		if err := os.MkdirAll(t.root, 0o755); err != nil {
			return nil, err
		}
	}
	r, err := os.OpenRoot(t.root)
	if err != nil {
		return nil, err
	}
	t.r = r
	return r, nil
}

// rel turns an absolute host path into a path inside the root.
func rel(p string) (string, error) {
	if !path.IsAbs(p) {
		return "", fmt.Errorf("path %q is not absolute", p)
	}
	r := strings.TrimPrefix(path.Clean(p), "/")
	if r == "" {
		r = "."
	}
	return r, nil
}

// WriteFile replaces path atomically: a temporary file in the same directory
// is written, synced, given mode and owner, then renamed over path, and the
// directory is synced. A cancelled context or failed write removes the
// temporary file and leaves path as it was.
func (t *Transport) WriteFile(ctx context.Context, p string, content io.Reader, attrs machine.FileAttrs) (err error) {
	r, err := t.open(true)
	if err != nil {
		return err
	}
	rp, err := rel(p)
	if err != nil {
		return err
	}
	t.forget(rp, false)
	dir, base := path.Split(rp)
	started := time.Now()
	var buf [8]byte
	_, _ = rand.Read(buf[:])
	tmp := path.Join(dir, "."+base+".steward-"+hex.EncodeToString(buf[:]))
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = r.Remove(tmp)
		}
	}()
	cb := copyBuffers.Get().(*[]byte)
	_, err = io.CopyBuffer(writerOnly{f}, ctxReader{ctx, content}, *cb)
	copyBuffers.Put(cb)
	if err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	mode := attrs.Mode.Perm()
	if mode == 0 {
		mode = 0o644
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if attrs.UID >= 0 || attrs.GID >= 0 {
		if err = f.Chown(attrs.UID, attrs.GID); err != nil {
			return err
		}
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = ctx.Err(); err != nil {
		return err
	}
	if err = r.Rename(tmp, rp); err != nil {
		return err
	}
	clearAbandoned(r, dir, base, started)
	return syncDir(r, dir)
}

// clearAbandoned removes temporary files of base that a writer started
// before started and never renamed (it was killed). A directory is listed
// once per process (see sweeps), not on every write: the inventory directory
// holds a file per unit, and listing it on each unit's write made a pass
// over N units cost N² directory entries.
func clearAbandoned(r *os.Root, dir, base string, started time.Time) {
	for _, tmp := range sweeps.take(r, dir, base, started) {
		_ = r.Remove(path.Join(dir, tmp))
	}
}

// sweeps remembers, per directory, the temporary files of killed writers
// found when the directory was first listed, by the base name they were
// meant to replace. It is process-wide because transports are dialled per
// operation; a writer in this process removes its own temporary file when it
// fails, so only what an earlier (or another) process left needs finding.
var sweeps = &tempSweeps{dirs: map[string]map[string][]tempFile{}, listings: map[string]int{}}

type tempSweeps struct {
	mu       sync.Mutex
	dirs     map[string]map[string][]tempFile // root NUL dir -> base -> temporaries
	listings map[string]int                   // times each directory was listed, for tests
}

type tempFile struct {
	name    string
	modTime time.Time
}

// take returns the temporary files of base in dir older than before, and
// forgets them; dir is listed the first time it is asked about.
func (s *tempSweeps) take(r *os.Root, dir, base string, before time.Time) []string {
	key := r.Name() + "\x00" + dir
	s.mu.Lock()
	defer s.mu.Unlock()
	found, ok := s.dirs[key]
	if !ok {
		found = listTemps(r, dir)
		s.dirs[key] = found
		s.listings[key]++
	}
	var out []string
	var rest []tempFile
	for _, t := range found[base] {
		if t.modTime.Before(before) {
			out = append(out, t.name)
		} else {
			rest = append(rest, t)
		}
	}
	if len(rest) == 0 {
		delete(found, base)
	} else {
		found[base] = rest
	}
	return out
}

// listTemps lists dir's temporary files (".BASE.steward-RANDOM") by BASE.
func listTemps(r *os.Root, dir string) map[string][]tempFile {
	d := dir
	if d == "" {
		d = "."
	}
	f, err := r.Open(d)
	if err != nil {
		return nil
	}
	ents, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return nil
	}
	var out map[string][]tempFile
	for _, e := range ents {
		name := e.Name()
		i := strings.LastIndex(name, ".steward-")
		if !strings.HasPrefix(name, ".") || i < 1 {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if out == nil {
			out = map[string][]tempFile{}
		}
		base := name[1:i]
		out[base] = append(out[base], tempFile{name: name, modTime: fi.ModTime()})
	}
	return out
}

func syncDir(r *os.Root, dir string) error {
	if dir == "" {
		dir = "."
	}
	d, err := r.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}

// ctxReader stops a copy when the context is done.
// copyBuffers are WriteFile's copy buffers. Without them every write
// allocated 32 KiB in os.File.ReadFrom, even for a line of text: a first
// pass over 40 000 files churned 1.3 GB through the garbage collector.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writerOnly hides a file's ReadFrom, so io.CopyBuffer uses the buffer.
type writerOnly struct{ io.Writer }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Mkdir creates path (one level) with attrs; an existing directory is not
// an error.
func (t *Transport) Mkdir(ctx context.Context, p string, attrs machine.FileAttrs) error {
	r, rp, err := t.at(ctx, p, true)
	if err != nil {
		return err
	}
	if rp == "." {
		return nil
	}
	mode := attrs.Mode.Perm()
	if mode == 0 {
		mode = 0o755
	}
	if err := r.Mkdir(rp, mode); err != nil {
		if errors.Is(err, fs.ErrExist) {
			if fi, serr := r.Lstat(rp); serr == nil && fi.IsDir() {
				return nil
			}
		}
		return err
	}
	// Mkdir is subject to the umask; set the mode exactly.
	if err := r.Chmod(rp, mode); err != nil {
		return err
	}
	if attrs.UID >= 0 || attrs.GID >= 0 {
		return r.Lchown(rp, attrs.UID, attrs.GID)
	}
	return nil
}

// SetAttrs changes mode, owner and group of path (zero mode and -1 ids are
// left unchanged).
func (t *Transport) SetAttrs(ctx context.Context, p string, attrs machine.FileAttrs) error {
	r, rp, err := t.at(ctx, p, true)
	if err != nil {
		return err
	}
	t.forget(rp, false)
	if attrs.Mode.Perm() != 0 {
		if err := r.Chmod(rp, attrs.Mode.Perm()); err != nil {
			return err
		}
	}
	if attrs.UID >= 0 || attrs.GID >= 0 {
		return r.Lchown(rp, attrs.UID, attrs.GID)
	}
	return nil
}

// Remove deletes a file or an empty directory.
func (t *Transport) Remove(ctx context.Context, p string) error {
	r, rp, err := t.at(ctx, p, false)
	if err != nil {
		return err
	}
	if rp == "." {
		return fmt.Errorf("remove %s: refusing to remove the root", p)
	}
	t.forget(rp, true)
	return r.Remove(rp)
}

// forget drops what reads remember of rp, which is about to change: its
// record in seen and, when it may be a directory, its opened directory and
// those under it.
func (t *Transport) forget(rp string, dir bool) {
	t.seen.forget(t.root, rp)
	if dir {
		t.mu.Lock()
		t.dirs.drop(rp)
		t.mu.Unlock()
	}
}

// Run runs argv on this host without a shell. The program is looked up in
// the PATH of the command's environment. A non-zero exit is in the result.
func (t *Transport) Run(ctx context.Context, c machine.Cmd) (*machine.CmdResult, error) {
	if len(c.Argv) == 0 {
		return nil, errors.New("run: empty argv")
	}
	// The same clean environment generators get: PATH and HOME, not
	// steward's own (which may hold its tokens).
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	pathList := os.Getenv("PATH")
	for _, m := range []map[string]string{t.env, c.Env} {
		for k, v := range m {
			env = append(env, k+"="+v)
			if k == "PATH" {
				pathList = v
			}
		}
	}
	prog, err := lookPath(c.Argv[0], pathList)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, prog, c.Argv[1:]...)
	cmd.Args[0] = c.Argv[0]
	cmd.Env = env
	cmd.Dir = c.Dir
	cmd.Stdin = c.Stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ctx.Err() == nil {
		return &machine.CmdResult{ExitCode: ee.ExitCode(), Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("run %s: %w", c.Argv[0], ctx.Err())
		}
		return nil, fmt.Errorf("run %s: %w", c.Argv[0], err)
	}
	return &machine.CmdResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}, nil
}

// lookPath finds prog in the colon-separated pathList; a name with a slash
// is used as it is.
func lookPath(prog, pathList string) (string, error) {
	if strings.Contains(prog, "/") {
		return prog, nil
	}
	for _, dir := range filepath.SplitList(pathList) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, prog)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("run %s: %w", prog, exec.ErrNotFound)
}

// Close releases the root and the directories opened under it.
func (t *Transport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.dirs.closeAll()
	if t.r == nil {
		return nil
	}
	err := t.r.Close()
	t.r = nil
	return err
}
