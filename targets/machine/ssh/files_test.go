package ssh

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stewardhq/steward/targets/machine"
)

func TestFileOperations(t *testing.T) {
	h := startHosts(t, 1)[0]
	tr := dialHost(t, h, nil)
	ctx := context.Background()
	dir := filepath.Join(h.Root, "etc")
	file := filepath.Join(dir, "motd")

	if _, err := tr.Stat(ctx, file); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat missing: err = %v, want fs.ErrNotExist", err)
	}
	if _, err := tr.ReadFile(ctx, file); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile missing: err = %v, want fs.ErrNotExist", err)
	}
	if err := tr.WriteFile(ctx, file, strings.NewReader("x"), machine.FileAttrs{UID: -1, GID: -1}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("WriteFile into a missing dir: err = %v, want fs.ErrNotExist", err)
	}

	if err := tr.Mkdir(ctx, dir, machine.FileAttrs{Mode: 0o750, UID: 1234, GID: 2345}); err != nil {
		t.Fatal(err)
	}
	if err := tr.Mkdir(ctx, dir, machine.FileAttrs{Mode: 0o700, UID: -1, GID: -1}); err != nil {
		t.Fatalf("Mkdir of an existing dir: %v", err)
	}
	assertLocal(t, dir, fs.ModeDir|0o750, 1234, 2345)
	fi, err := tr.Stat(ctx, dir)
	if err != nil || !fi.IsDir() || fi.Mode.Perm() != 0o750 || fi.UID != 1234 || fi.GID != 2345 {
		t.Fatalf("Stat dir = %+v, %v", fi, err)
	}
	if err := tr.Mkdir(ctx, filepath.Join(h.Root, "no", "such"), machine.FileAttrs{UID: -1, GID: -1}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Mkdir under a missing parent: err = %v, want fs.ErrNotExist", err)
	}

	if err := tr.WriteFile(ctx, file, strings.NewReader("hello\n"), machine.FileAttrs{Mode: 0o600, UID: 1234, GID: 2345}); err != nil {
		t.Fatal(err)
	}
	assertLocal(t, file, 0o600, 1234, 2345)
	if got, err := tr.ReadFile(ctx, file); err != nil || string(got) != "hello\n" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
	// Replace: new content, default mode, owner of the connecting user.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	if err := tr.WriteFile(ctx, file, bytes.NewReader(big), machine.FileAttrs{UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	assertLocal(t, file, 0o644, os.Getuid(), os.Getgid())
	if got, _ := os.ReadFile(file); !bytes.Equal(got, big) {
		t.Fatalf("content after replace: %d bytes, want %d", len(got), len(big))
	}
	// Special bits survive the write.
	if err := tr.WriteFile(ctx, file, strings.NewReader("#!/bin/sh\n"), machine.FileAttrs{Mode: 0o755 | fs.ModeSetgid, UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	if fi, err := tr.Stat(ctx, file); err != nil || fi.Mode != 0o755|fs.ModeSetgid || fi.Size != 10 {
		t.Fatalf("Stat setgid file = %+v, %v", fi, err)
	}
	if _, err := tr.ReadFile(ctx, dir); err == nil {
		t.Fatal("ReadFile of a directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("dir holds %d entries (temporary files left?), want 1", len(entries))
	}

	// SetAttrs: zero mode and -1 ids keep; one half of the owner alone.
	if err := tr.SetAttrs(ctx, file, machine.FileAttrs{UID: 42, GID: -1}); err != nil {
		t.Fatal(err)
	}
	assertLocal(t, file, 0o755|fs.ModeSetgid, 42, os.Getgid())
	if err := tr.SetAttrs(ctx, file, machine.FileAttrs{Mode: 0o640, UID: -1, GID: 43}); err != nil {
		t.Fatal(err)
	}
	assertLocal(t, file, 0o640, 42, 43)
	if err := tr.SetAttrs(ctx, filepath.Join(dir, "missing"), machine.FileAttrs{Mode: 0o640, UID: -1, GID: -1}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("SetAttrs missing: err = %v", err)
	}

	// Stat does not follow a final symlink.
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	if fi, err := tr.Stat(ctx, link); err != nil || fi.Mode.Type() != fs.ModeSymlink {
		t.Fatalf("Stat symlink = %+v, %v", fi, err)
	}

	// Remove: a file, a symlink (not its target), an empty dir; not a full dir.
	if err := tr.Remove(ctx, dir); err == nil {
		t.Fatal("Remove of a non-empty directory succeeded")
	}
	for _, p := range []string{link, file, dir} {
		if err := tr.Remove(ctx, p); err != nil {
			t.Fatalf("Remove %s: %v", p, err)
		}
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s still there", p)
		}
	}
	if err := tr.Remove(ctx, file); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Remove missing: err = %v", err)
	}
}

func TestWriteFileReplacesPlantedTempSymlink(t *testing.T) {
	h := startHosts(t, 1)[0]
	tr := dialHost(t, h, nil)
	victim := filepath.Join(h.Root, "victim")
	if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A symlink where the temporary file goes must not redirect the write.
	if err := os.Symlink(victim, filepath.Join(h.Root, ".conf.steward-tmp")); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(h.Root, "conf")
	if err := tr.WriteFile(context.Background(), target, strings.NewReader("new"), machine.FileAttrs{UID: -1, GID: -1}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Fatalf("write followed the planted symlink: victim = %q", b)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Fatalf("target = %q", b)
	}
}

func TestOneConnectionForEveryOperation(t *testing.T) {
	h := startHosts(t, 1)[0]
	tr := dialHost(t, h, nil)
	ctx := context.Background()
	for i := range 20 {
		p := filepath.Join(h.Root, "f")
		if err := tr.WriteFile(ctx, p, strings.NewReader(strings.Repeat("x", i)), machine.FileAttrs{UID: -1, GID: -1}); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Stat(ctx, p); err != nil {
			t.Fatal(err)
		}
		if res, err := tr.Run(ctx, machine.Cmd{Argv: []string{"true"}}); err != nil || res.ExitCode != 0 {
			t.Fatalf("run: %+v %v", res, err)
		}
	}
	if got := h.Accepted(); got != 1 {
		t.Fatalf("sshd accepted %d connections for 60 operations, want 1", got)
	}
}

func assertLocal(t *testing.T, p string, mode fs.FileMode, uid, gid int) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode() != mode || int(st.Uid) != uid || int(st.Gid) != gid {
		t.Fatalf("%s: mode %v owner %d:%d, want %v %d:%d", p, fi.Mode(), st.Uid, st.Gid, mode, uid, gid)
	}
}
