package ssh

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"

	"github.com/pkg/sftp"

	"github.com/stewardhq/steward/targets/machine"
)

// Stat describes path without following a final symlink (SFTP lstat).
func (t *Transport) Stat(ctx context.Context, p string) (*machine.FileInfo, error) {
	c, err := t.connect(ctx)
	if err != nil {
		return nil, err
	}
	fi, err := c.sftp.Lstat(p)
	if err != nil {
		return nil, pathErr("stat", p, err)
	}
	return fileInfo(fi), nil
}

func fileInfo(fi os.FileInfo) *machine.FileInfo {
	out := &machine.FileInfo{Mode: fi.Mode(), Size: fi.Size(), ModTime: fi.ModTime(), UID: -1, GID: -1}
	if st, ok := fi.Sys().(*sftp.FileStat); ok {
		out.UID, out.GID = int(st.UID), int(st.GID)
	}
	return out
}

// ReadFile returns the content of path.
func (t *Transport) ReadFile(ctx context.Context, p string) ([]byte, error) {
	c, err := t.connect(ctx)
	if err != nil {
		return nil, err
	}
	f, err := c.sftp.Open(p)
	if err != nil {
		return nil, pathErr("read", p, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, pathErr("read", p, err)
	}
	if fi.IsDir() {
		return nil, pathErr("read", p, errors.New("is a directory"))
	}
	b, err := io.ReadAll(ctxReader{ctx, f})
	if err != nil {
		return nil, pathErr("read", p, err)
	}
	return b, nil
}

// WriteFile replaces path atomically over SFTP:
//
//  1. a leftover temporary file of an interrupted write (".NAME.steward-tmp"
//     in the same directory) is removed, and the temporary file is created
//     exclusively (never following a planted symlink);
//  2. owner and permission bits are set on the still empty file, so the
//     content is never readable with looser permissions;
//  3. the content is written and fsynced (fsync@openssh.com when the server
//     offers it);
//  4. special bits (setuid, setgid, sticky), which a write may clear, are
//     set again, and the file is renamed over path with
//     posix-rename@openssh.com (a plain `mv -f` when the server lacks it).
//
// A dropped connection at any point leaves path wholly old; the next
// WriteFile clears the leftover and converges.
func (t *Transport) WriteFile(ctx context.Context, p string, content io.Reader, attrs machine.FileAttrs) error {
	c, err := t.connect(ctx)
	if err != nil {
		return err
	}
	dir, base := path.Split(p)
	if base == "" || base == "." || base == ".." {
		return pathErr("write", p, errors.New("not a file path"))
	}
	tmp := path.Join(dir, "."+base+".steward-tmp")
	if _, err := c.sftp.Lstat(tmp); err == nil {
		if err := c.sftp.Remove(tmp); err != nil {
			return pathErr("write", p, fmt.Errorf("remove leftover %s: %w", tmp, err))
		}
	}
	f, err := c.sftp.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return pathErr("write", p, err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			c.sftp.Remove(tmp)
		}
	}()
	mode := attrs.Mode
	if mode == 0 {
		mode = 0o644
	}
	if err := chown(c.sftp, f, tmp, attrs); err != nil {
		return pathErr("write", p, err)
	}
	if err := f.Chmod(mode.Perm()); err != nil {
		return pathErr("write", p, fmt.Errorf("chmod: %w", err))
	}
	if _, err := io.Copy(f, ctxReader{ctx, content}); err != nil {
		return pathErr("write", p, err)
	}
	if c.fsync {
		if err := f.Sync(); err != nil {
			return pathErr("write", p, fmt.Errorf("fsync: %w", err))
		}
	}
	if mode&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 {
		if err := f.Chmod(mode); err != nil {
			return pathErr("write", p, fmt.Errorf("chmod: %w", err))
		}
	}
	if err := f.Close(); err != nil {
		return pathErr("write", p, err)
	}
	if err := ctx.Err(); err != nil {
		return pathErr("write", p, err)
	}
	if c.posixRename {
		err = c.sftp.PosixRename(tmp, p)
	} else {
		err = t.runOK(ctx, "mv", "-f", "--", tmp, p)
	}
	if err != nil {
		return pathErr("write", p, fmt.Errorf("rename: %w", err))
	}
	ok = true
	return nil
}

// chown sets the owner of an open file; a -1 in attrs keeps that half.
func chown(s *sftp.Client, f *sftp.File, p string, attrs machine.FileAttrs) error {
	if attrs.UID < 0 && attrs.GID < 0 {
		return nil
	}
	uid, gid := attrs.UID, attrs.GID
	if uid < 0 || gid < 0 {
		fi, err := s.Lstat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*sftp.FileStat)
		if !ok {
			return errors.New("chown: server reported no owner")
		}
		if uid < 0 {
			uid = int(st.UID)
		}
		if gid < 0 {
			gid = int(st.GID)
		}
	}
	var err error
	if f != nil {
		err = f.Chown(uid, gid)
	} else {
		err = s.Chown(p, uid, gid)
	}
	if err != nil {
		return fmt.Errorf("chown %d:%d: %w", uid, gid, err)
	}
	return nil
}

// Mkdir creates one directory with attrs; an existing directory is left as
// it is (SetAttrs changes it).
func (t *Transport) Mkdir(ctx context.Context, p string, attrs machine.FileAttrs) error {
	c, err := t.connect(ctx)
	if err != nil {
		return err
	}
	if err := c.sftp.Mkdir(p); err != nil {
		// SFTP v3 has no "already exists" status: look.
		if fi, serr := c.sftp.Lstat(p); serr == nil && fi.IsDir() {
			return nil
		}
		return pathErr("mkdir", p, err)
	}
	mode := attrs.Mode
	if mode == 0 {
		mode = 0o755
	}
	if err := chown(c.sftp, nil, p, attrs); err != nil {
		return pathErr("mkdir", p, err)
	}
	if err := c.sftp.Chmod(p, mode); err != nil {
		return pathErr("mkdir", p, err)
	}
	return nil
}

// SetAttrs changes mode (0 keeps it) and owner and group (-1 keeps each).
func (t *Transport) SetAttrs(ctx context.Context, p string, attrs machine.FileAttrs) error {
	c, err := t.connect(ctx)
	if err != nil {
		return err
	}
	mode := attrs.Mode
	if mode == 0 && (attrs.UID >= 0 || attrs.GID >= 0) {
		// chown clears setuid and setgid: keep them when mode is kept.
		fi, err := c.sftp.Lstat(p)
		if err != nil {
			return pathErr("chown", p, err)
		}
		if special := fi.Mode() & (fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky); special != 0 {
			mode = fi.Mode().Perm() | special
		}
	}
	if err := chown(c.sftp, nil, p, attrs); err != nil {
		return pathErr("chown", p, err)
	}
	if mode != 0 {
		if err := c.sftp.Chmod(p, mode); err != nil {
			return pathErr("chmod", p, err)
		}
	}
	return nil
}

// Remove deletes a file or an empty directory.
func (t *Transport) Remove(ctx context.Context, p string) error {
	c, err := t.connect(ctx)
	if err != nil {
		return err
	}
	fi, err := c.sftp.Lstat(p)
	if err != nil {
		return pathErr("remove", p, err)
	}
	if fi.IsDir() {
		err = c.sftp.RemoveDirectory(p)
	} else {
		err = c.sftp.Remove(p)
	}
	if err != nil {
		return pathErr("remove", p, err)
	}
	return nil
}

// runOK runs a command that must succeed.
func (t *Transport) runOK(ctx context.Context, argv ...string) error {
	res, err := t.Run(ctx, machine.Cmd{Argv: argv})
	if err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%s exited %d: %s", argv[0], res.ExitCode, res.Stderr)
	}
	return nil
}

// pathErr wraps an SFTP error so errors.Is(err, fs.ErrNotExist) and
// fs.ErrPermission work.
func pathErr(op, p string, err error) error {
	var se *sftp.StatusError
	if errors.As(err, &se) {
		switch se.FxCode() {
		case sftp.ErrSSHFxNoSuchFile:
			err = fs.ErrNotExist
		case sftp.ErrSSHFxPermissionDenied:
			err = fs.ErrPermission
		}
	}
	return &fs.PathError{Op: op, Path: p, Err: err}
}

// ctxReader stops a transfer when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
