package reconcile

import (
	"fmt"
	"strings"
)

// maxEditDistance bounds the Myers search; beyond it the diff falls back to
// replacing the whole text, which is still a correct (if long) diff.
const maxEditDistance = 4096

// diffContext is the number of unchanged lines around each change.
const diffContext = 3

// UnifiedDiff returns a unified diff (as `diff -u` prints it) from a to b, or
// "" when they are equal.
func UnifiedDiff(oldName, newName, a, b string) string {
	if a == b {
		return ""
	}
	x, y := splitLines(a), splitLines(b)
	ops := editScript(x, y)
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", oldName, newName)
	for _, h := range hunks(ops) {
		writeHunk(&out, h, x, y)
	}
	return out.String()
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

type opKind byte

const (
	opEqual opKind = iota
	opDelete
	opInsert
)

// edit is one line of the edit script: x[i] kept or deleted, or y[j] inserted.
type edit struct {
	kind opKind
	i, j int
}

// editScript computes a shortest edit script with Myers' algorithm.
func editScript(x, y []string) []edit {
	// Trim the common prefix and suffix: cheap and typical for YAML.
	pre := 0
	for pre < len(x) && pre < len(y) && x[pre] == y[pre] {
		pre++
	}
	suf := 0
	for suf < len(x)-pre && suf < len(y)-pre && x[len(x)-1-suf] == y[len(y)-1-suf] {
		suf++
	}
	mid := myers(x[pre:len(x)-suf], y[pre:len(y)-suf])
	ops := make([]edit, 0, pre+len(mid)+suf)
	for i := range pre {
		ops = append(ops, edit{opEqual, i, i})
	}
	for _, e := range mid {
		ops = append(ops, edit{e.kind, e.i + pre, e.j + pre})
	}
	for k := range suf {
		ops = append(ops, edit{opEqual, len(x) - suf + k, len(y) - suf + k})
	}
	return ops
}

func myers(x, y []string) []edit {
	n, m := len(x), len(y)
	limit := min(n+m, maxEditDistance)
	offset := limit + 1
	v := make([]int, 2*limit+3)
	var trace [][]int
	found := -1
	for d := 0; d <= limit && found < 0; d++ {
		trace = append(trace, append([]int(nil), v...))
		for k := -d; k <= d; k += 2 {
			var i int
			if k == -d || (k != d && v[offset+k-1] < v[offset+k+1]) {
				i = v[offset+k+1]
			} else {
				i = v[offset+k-1] + 1
			}
			j := i - k
			for i < n && j < m && x[i] == y[j] {
				i, j = i+1, j+1
			}
			v[offset+k] = i
			if i >= n && j >= m {
				found = d
				break
			}
		}
	}
	if found < 0 { // too different: delete everything, insert everything
		ops := make([]edit, 0, n+m)
		for i := range n {
			ops = append(ops, edit{opDelete, i, 0})
		}
		for j := range m {
			ops = append(ops, edit{opInsert, n, j})
		}
		return ops
	}
	// Walk the trace backwards from (n, m).
	var rev []edit
	i, j := n, m
	for d := found; d > 0; d-- {
		vd := trace[d]
		k := i - j
		var prevK int
		if k == -d || (k != d && vd[offset+k-1] < vd[offset+k+1]) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevI := vd[offset+prevK]
		prevJ := prevI - prevK
		for i > prevI && j > prevJ {
			i, j = i-1, j-1
			rev = append(rev, edit{opEqual, i, j})
		}
		if i == prevI {
			j--
			rev = append(rev, edit{opInsert, i, j})
		} else {
			i--
			rev = append(rev, edit{opDelete, i, j})
		}
	}
	for i > 0 && j > 0 {
		i, j = i-1, j-1
		rev = append(rev, edit{opEqual, i, j})
	}
	ops := make([]edit, len(rev))
	for k, e := range rev {
		ops[len(rev)-1-k] = e
	}
	return ops
}

// hunks groups an edit script into runs of changes with context.
func hunks(ops []edit) [][]edit {
	var out [][]edit
	start, lastChange := -1, -1
	for k, op := range ops {
		if op.kind == opEqual {
			if start >= 0 && k-lastChange > 2*diffContext {
				out = append(out, ops[start:lastChange+diffContext+1])
				start = -1
			}
			continue
		}
		if start < 0 {
			start = max(0, k-diffContext)
		}
		lastChange = k
	}
	if start >= 0 {
		out = append(out, ops[start:min(len(ops), lastChange+diffContext+1)])
	}
	return out
}

func writeHunk(out *strings.Builder, h []edit, x, y []string) {
	oldStart, newStart := h[0].i, h[0].j
	oldLen, newLen := 0, 0
	for _, e := range h {
		switch e.kind {
		case opEqual:
			oldLen++
			newLen++
		case opDelete:
			oldLen++
		case opInsert:
			newLen++
		}
	}
	fmt.Fprintf(out, "@@ -%s +%s @@\n", hunkRange(oldStart, oldLen), hunkRange(newStart, newLen))
	for _, e := range h {
		var prefix byte
		var line string
		switch e.kind {
		case opEqual:
			prefix, line = ' ', x[e.i]
		case opDelete:
			prefix, line = '-', x[e.i]
		case opInsert:
			prefix, line = '+', y[e.j]
		}
		out.WriteByte(prefix)
		out.WriteString(line)
		if !strings.HasSuffix(line, "\n") {
			out.WriteString("\n\\ No newline at end of file\n")
		}
	}
}

func hunkRange(start, length int) string {
	switch length {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprintf("%d", start+1)
	default:
		return fmt.Sprintf("%d,%d", start+1, length)
	}
}
