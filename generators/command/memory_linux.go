package command

import (
	"fmt"
	"os"

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
