package command

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// memoryDirs are where a work tree holding decrypted files may go, in order
// of preference: $XDG_RUNTIME_DIR (the user's own, 0700) and /dev/shm.
// Tests replace it.
var memoryDirs = func() []string { return []string{os.Getenv("XDG_RUNTIME_DIR"), "/dev/shm"} }

// memoryDir returns the first of memoryDirs on a memory-backed filesystem
// (tmpfs or ramfs), or why none is.
func memoryDir() (string, []string) {
	var why []string
	for _, d := range memoryDirs() {
		if d == "" {
			continue
		}
		var st unix.Statfs_t
		if err := unix.Statfs(d, &st); err != nil {
			why = append(why, fmt.Sprintf("%s: %v", d, err))
			continue
		}
		if t := uint32(st.Type); t != unix.TMPFS_MAGIC && t != unix.RAMFS_MAGIC {
			why = append(why, fmt.Sprintf("%s: not tmpfs (filesystem type %#x)", d, t))
			continue
		}
		return d, nil
	}
	if len(why) == 0 {
		why = append(why, "no directory to try")
	}
	return "", why
}

// workPrefix starts the name of every work tree on a memory-backed
// filesystem.
const workPrefix = "steward-decrypted-"

// memoryWorkDir makes a fresh 0700 directory under base and holds an
// exclusive flock on it until release, which removes it. First it removes
// the work trees under base whose lock is free: left by a steward killed
// while its command ran (the kernel drops a dead process's locks, in any
// PID namespace), they would hold plain text until the next boot.
func memoryWorkDir(base string) (string, func(), error) {
	sweep(base)
	for range 3 {
		dir, err := os.MkdirTemp(base, workPrefix)
		if err != nil {
			return "", nil, err
		}
		f, err := os.Open(dir)
		if err != nil {
			return "", nil, err
		}
		// A sweeper may have taken the lock of the directory just made,
		// before us, and removed it: then try another.
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			continue
		}
		if held, err := f.Stat(); err != nil {
			f.Close()
			return "", nil, err
		} else if named, err := os.Stat(dir); err != nil || !os.SameFile(held, named) {
			f.Close()
			continue
		}
		return dir, func() {
			_ = os.RemoveAll(dir)
			f.Close()
		}, nil
	}
	return "", nil, fmt.Errorf("%s: work trees made there are removed at once", base)
}

// sweep removes the work trees under base, of this user, whose lock no
// process holds.
func sweep(base string) {
	dirs, _ := filepath.Glob(filepath.Join(base, workPrefix+"*"))
	for _, d := range dirs {
		var st unix.Stat_t
		if err := unix.Lstat(d, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR || int(st.Uid) != os.Getuid() {
			continue
		}
		f, err := os.Open(d)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			_ = os.RemoveAll(d)
		}
		f.Close()
	}
}
