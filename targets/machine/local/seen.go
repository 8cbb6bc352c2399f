package local

import (
	"crypto/sha256"
	"hash/maphash"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"
)

// seenFiles remembers, for the transports of one dialer, the files whose
// content a read found as wanted, with what the file system said of each
// then: device, inode, size, mode, owner, group, and the modification and
// inode change times (mtime, ctime). While all of these stay the same the
// content is taken as unchanged and not read again; the mode, owner and
// group are compared on every plan anyway.
//
// A change made through the file system changes the ctime, which no call
// can set back: writing in place (even at the same size and with the mtime
// put back), replacing the file (a new inode, or a reused one with a new
// ctime), chmod, chown, removing it, or a symlink in its place. What goes
// unseen is a change made without the kernel's knowledge (writing the raw
// device, setting the clock back to the very nanosecond) and one written
// through a shared memory mapping before the kernel has stamped it.
//
// A record is kept only of a file whose ctime was older, when the read
// began, than the file system's timestamp granularity (see racyWindow):
// a file changed within the same clock tick as it was last changed before
// keeps its ctime, so a file changed just before it was read is read
// again next time (the "racily clean" entries of git's index). Records are
// in memory only: a restarted steward reads every file once again.
//
// Records are found by a hash of the path (root NUL path in root), not the
// path itself: at 10 000 units the map holds 50 000 records, and string
// keys made every lookup hash and compare a long string and every
// collection follow 50 000 pointers. Two paths of one hash share a slot,
// which costs a read, never a wrong answer: a record matches only the
// device and inode it was taken of.
type seenFiles struct {
	mu    sync.Mutex
	seed  maphash.Seed
	files map[uint64]seenFile // pathKey -> record
	now   func() time.Time

	// File system calls made for reads, for tests.
	dirOpens, opens, stats atomic.Int64
}

type seenFile struct {
	stamp fileStamp
	sum   [sha256.Size]byte // of the content
}

func newSeenFiles() *seenFiles {
	return &seenFiles{seed: maphash.MakeSeed(), files: map[uint64]seenFile{}, now: time.Now}
}

// pathKey is the key of rp under root.
func (s *seenFiles) pathKey(root, rp string) uint64 {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(root)
	h.WriteByte(0)
	h.WriteString(rp)
	return h.Sum64()
}

func contentSum(b []byte) [sha256.Size]byte { return sha256.Sum256(b) }

// racyWindow is how old a file's ctime must be when its read begins for
// the read to be recorded: more than the kernel's coarse clock lags (a
// tick) on file systems with nanosecond timestamps, and more than a second
// where the timestamps are whole seconds.
func racyWindow(ctimeNsec int64) time.Duration {
	if ctimeNsec == 0 {
		return 2 * time.Second
	}
	return 100 * time.Millisecond
}

// holds reports whether rp under root, described by fi, is a file read
// before and found holding content of sum, unchanged since.
func (s *seenFiles) holds(root, rp string, fi fs.FileInfo, sum [sha256.Size]byte) bool {
	st, ok := stampOf(fi)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.files[s.pathKey(root, rp)]
	return ok && rec.stamp == st && rec.sum == sum
}

// record remembers that rp under root, described by fi (on the opened
// file, before the read that began at began), held content of sum; a file
// changed too shortly before is forgotten instead.
func (s *seenFiles) record(root, rp string, fi fs.FileInfo, sum [sha256.Size]byte, began time.Time) {
	st, ok := stampOf(fi)
	if !ok || st.ctime >= began.Add(-racyWindow(st.ctime%1e9)).UnixNano() {
		s.forget(root, rp)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[s.pathKey(root, rp)] = seenFile{stamp: st, sum: sum}
}

// forget drops the record of rp under root: it was written, removed, or
// found changed.
func (s *seenFiles) forget(root, rp string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.files, s.pathKey(root, rp))
}
