package machine

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/pmezard/go-difflib/difflib"
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
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        splitLines(old),
		B:        splitLines(new),
		FromFile: from,
		ToFile:   p,
		Context:  3,
	})
	if err != nil {
		return fmt.Sprintf("--- %s\n+++ %s\n(diff failed: %v)\n", from, p, err)
	}
	return d
}

func isText(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }

// splitLines splits text into lines that keep their newline; a last line
// without one is marked the way diff(1) does.
func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	lines := strings.SplitAfter(string(b), "\n")
	if lines[len(lines)-1] == "" {
		return lines[:len(lines)-1]
	}
	lines[len(lines)-1] += "\n\\ No newline at end of file\n"
	return lines
}
