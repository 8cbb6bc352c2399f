package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/stewardhq/steward/targets/machine"
)

var _ machine.FileMatcher = (*Transport)(nil)

// Reads go through the directory a file is in, opened once per transport
// (an os.Root of its own, below the transport's): a file is then one
// fstatat or one openat relative to its directory, where a read from the
// root walked every component of its path again, an openat each. The
// directory is opened through the transport's root, so symlinks lead no
// further than they did. Writes walk from the root, as they did.

// maxOpenDirs bounds the directories a transport keeps open; the first
// opened is closed to make room. A unit's files are mostly in a few
// directories.
const maxOpenDirs = 16

// dirCache holds the directories a transport opened for reads, by their
// path in the root ("srv/app").
type dirCache struct {
	roots map[string]*os.Root
	order []string // oldest first
}

func (c *dirCache) get(r *os.Root, dir string, seen *seenFiles) (*os.Root, error) {
	if d, ok := c.roots[dir]; ok {
		return d, nil
	}
	seen.dirOpens.Add(1)
	d, err := r.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	if c.roots == nil {
		c.roots = map[string]*os.Root{}
	}
	if len(c.order) >= maxOpenDirs {
		c.roots[c.order[0]].Close()
		delete(c.roots, c.order[0])
		c.order = c.order[1:]
	}
	c.roots[dir] = d
	c.order = append(c.order, dir)
	return d, nil
}

// drop closes dir and the directories under it (it was removed).
func (c *dirCache) drop(dir string) {
	c.order = slices.DeleteFunc(c.order, func(d string) bool {
		if d != dir && !strings.HasPrefix(d, dir+"/") {
			return false
		}
		c.roots[d].Close()
		delete(c.roots, d)
		return true
	})
}

func (c *dirCache) closeAll() {
	for _, d := range c.roots {
		d.Close()
	}
	c.roots, c.order = nil, nil
}

// read calls fn with the opened directory p is in and p's last element,
// holding t's lock (an evicted directory is closed under it).
func (t *Transport) read(ctx context.Context, p string, fn func(d *os.Root, base, rp string) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rp, err := rel(p)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, err := t.openLocked(false)
	if err != nil {
		return err
	}
	dir, base := path.Split(rp)
	d := r
	if dir != "" {
		if d, err = t.dirs.get(r, strings.TrimSuffix(dir, "/"), t.seen); err != nil {
			return withPath(err, rp)
		}
	}
	return withPath(fn(d, base, rp), rp)
}

// withPath names the whole path in the root in a path error of a call
// relative to a directory.
func withPath(err error, rp string) error {
	if pe, ok := err.(*fs.PathError); ok {
		pe.Path = rp
	}
	return err
}

// Stat describes path without following a final symlink.
func (t *Transport) Stat(ctx context.Context, p string) (*machine.FileInfo, error) {
	var out *machine.FileInfo
	err := t.read(ctx, p, func(d *os.Root, base, _ string) error {
		t.seen.stats.Add(1)
		fi, err := d.Lstat(base)
		if err != nil {
			return err
		}
		out = infoOf(fi)
		return nil
	})
	return out, err
}

// ReadFile returns the content of path. A final symlink is followed as long
// as it stays under the root.
func (t *Transport) ReadFile(ctx context.Context, p string) ([]byte, error) {
	var out []byte
	err := t.read(ctx, p, func(d *os.Root, base, rp string) error {
		var err error
		out, err = t.readIn(d, base, rp)
		return err
	})
	return out, err
}

// readIn reads base in d, rp in the root.
func (t *Transport) readIn(d *os.Root, base, rp string) ([]byte, error) {
	t.seen.opens.Add(1)
	out, err := d.ReadFile(base)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// A symlink in the directory may lead elsewhere under the
		// root (../usr/lib/os-release): resolve it from the root.
		t.seen.opens.Add(1)
		out, err = t.r.ReadFile(rp)
	}
	return out, err
}

var _ machine.FileSumReader = (*Transport)(nil)

// ReadFileUnlessSum returns the content of path, as ReadFile, or nil and
// true when path is a regular file this transport's dialer read before,
// found holding content of sum, and sees unchanged since (see seenFiles).
// A regular file it reads is remembered with its content's sum.
func (t *Transport) ReadFileUnlessSum(ctx context.Context, p string, sum [sha256.Size]byte) ([]byte, bool, error) {
	var out []byte
	var same bool
	err := t.read(ctx, p, func(d *os.Root, base, rp string) error {
		l, err := t.look(d, base, rp, sum, nil)
		switch {
		case err != nil:
			return err
		case !l.fi.Mode().IsRegular():
			out, err = t.readIn(d, base, rp)
			return err
		case l.same:
			same = true
			return nil
		}
		out = l.read.Content
		t.seen.record(t.root, rp, l.read.opened, contentSum(out), l.began)
		return nil
	})
	return out, same, err
}

// MatchFile describes path without following a final symlink and reports
// whether it is a regular file holding exactly want. A file this
// transport's dialer has read before and found holding want is not read
// again while it is unchanged (see seenFiles); a file that does not hold
// want is read whole, for the diff.
func (t *Transport) MatchFile(ctx context.Context, p string, want []byte) (*machine.FileMatch, error) {
	var out *machine.FileMatch
	err := t.read(ctx, p, func(d *os.Root, base, rp string) error {
		sum := contentSum(want)
		l, err := t.look(d, base, rp, sum, want)
		switch {
		case err != nil:
			return err
		case !l.fi.Mode().IsRegular():
			out = &machine.FileMatch{Info: infoOf(l.fi)}
			return nil
		case l.same:
			out = &machine.FileMatch{Info: infoOf(l.fi), Same: true}
			return nil
		}
		if l.read.Same {
			t.seen.record(t.root, rp, l.read.opened, sum, l.began)
		} else {
			t.seen.forget(t.root, rp)
		}
		out = &l.read.FileMatch
		return nil
	})
	return out, err
}

// errChanging is a file replaced again and again while it was being read.
var errChanging = errors.New("replaced while being read")

// looked is what look found of a file.
type looked struct {
	fi    fs.FileInfo // as lstat describes it
	same  bool        // a regular file recorded holding content of the sum, unchanged since
	read  *opened     // else, for a regular file, what readMatch found
	began time.Time   // when the look that read it began, for seenFiles.record
}

// look describes base in d (rp in the root) without following it and, for
// a regular file not recorded holding content of sum and unchanged since,
// opens it and reads it against want (readMatch), looking again, up to
// three times, at a file replaced meanwhile. The record of a path that is
// missing or not a regular file is dropped.
func (t *Transport) look(d *os.Root, base, rp string, sum [sha256.Size]byte, want []byte) (looked, error) {
	for range 3 {
		l := looked{began: t.seen.now()}
		t.seen.stats.Add(1)
		var err error
		if l.fi, err = d.Lstat(base); err != nil {
			t.seen.forget(t.root, rp)
			return looked{}, err
		}
		if !l.fi.Mode().IsRegular() {
			t.seen.forget(t.root, rp)
			return l, nil
		}
		if l.same = t.seen.holds(t.root, rp, l.fi, sum); l.same {
			return l, nil
		}
		t.seen.opens.Add(1)
		f, err := d.Open(base)
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since: look again
		}
		if err != nil {
			return looked{}, err
		}
		l.read, err = readMatch(f, l.fi, want)
		f.Close()
		if errors.Is(err, errChanging) {
			continue
		}
		if err != nil {
			return looked{}, err
		}
		return l, nil
	}
	return looked{}, &fs.PathError{Op: "read", Path: rp, Err: errChanging}
}

// opened is what readMatch found in an opened file: the match, and the
// file's description taken on the open file before it was read.
type opened struct {
	machine.FileMatch
	opened fs.FileInfo
}

// readMatch compares f, found as fi before it was opened, with want. It
// reads no more than want's length of a file of that size, and the whole
// of any other; errChanging when f is not the file fi described.
func readMatch(f *os.File, fi fs.FileInfo, want []byte) (*opened, error) {
	ofi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !ofi.Mode().IsRegular() || !os.SameFile(fi, ofi) {
		return nil, errChanging
	}
	m := &opened{FileMatch: machine.FileMatch{Info: infoOf(ofi)}, opened: ofi}
	if ofi.Size() != int64(len(want)) {
		m.Content, err = readAll(f, ofi.Size())
		return m, err
	}
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	off := 0
	for off < len(want) {
		n, err := f.Read(buf[:min(len(buf), len(want)-off)])
		if n > 0 && !bytes.Equal(buf[:n], want[off:off+n]) {
			rest, err := readAll(f, ofi.Size()-int64(off+n))
			m.Content = slices.Concat(want[:off], buf[:n], rest)
			return m, err
		}
		off += n
		if err == io.EOF {
			m.Content = slices.Clone(want[:off]) // shorter than described: it changes
			return m, nil
		}
		if err != nil {
			return nil, err
		}
	}
	m.Same = true
	return m, nil
}

// readAll reads the rest of f, expecting about size bytes.
func readAll(f *os.File, size int64) ([]byte, error) {
	b := make([]byte, 0, max(size, 0)+1)
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
		if len(b) == cap(b) {
			b = slices.Grow(b, 4096)
		}
	}
}

func infoOf(fi fs.FileInfo) *machine.FileInfo {
	out := &machine.FileInfo{Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime(), UID: -1, GID: -1}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		out.UID, out.GID = int(st.Uid), int(st.Gid)
	}
	return out
}
