package machine

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"unicode/utf8"

	"github.com/stewardhq/steward/reconcile"
)

// contentDiff is a unified diff of a file's content; old nil means the file
// does not exist. Binary content is summarised by size and checksum, and
// sensitive content by size only.
func contentDiff(p string, old, new []byte, sensitive bool) string {
	if old != nil && bytes.Equal(old, new) {
		return ""
	}
	if sensitive {
		if old == nil {
			return fmt.Sprintf("--- /dev/null\n+++ %s\n(sensitive content hidden: %d bytes)\n", p, len(new))
		}
		return fmt.Sprintf("--- %s\n+++ %s\n(sensitive content hidden: %d -> %d bytes)\n", p, p, len(old), len(new))
	}
	if !isText(old) || !isText(new) {
		from := "/dev/null"
		oldSum := ""
		if old != nil {
			from = p
			oldSum = fmt.Sprintf("%d bytes sha256:%x -> ", len(old), sha256.Sum256(old))
		}
		return fmt.Sprintf("--- %s\n+++ %s\nbinary content: %s%d bytes sha256:%x\n", from, p, oldSum, len(new), sha256.Sum256(new))
	}
	from := p
	if old == nil {
		from = "/dev/null"
	}
	return reconcile.UnifiedDiff(from, p, string(old), string(new))
}

func isText(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }
