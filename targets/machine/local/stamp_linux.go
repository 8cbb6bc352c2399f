package local

import (
	"io/fs"
	"syscall"
)

// fileStamp is what the file system says of a file that a change to it
// through the kernel would change.
type fileStamp struct {
	dev, ino       uint64
	size           int64
	mode, uid, gid uint32
	mtime, ctime   int64 // Unix nanoseconds
}

func stampOf(fi fs.FileInfo) (fileStamp, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStamp{}, false
	}
	return fileStamp{dev: st.Dev, ino: st.Ino, size: st.Size, mode: st.Mode, uid: st.Uid, gid: st.Gid,
		mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano()}, true
}
