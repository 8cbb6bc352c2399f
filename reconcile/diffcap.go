package reconcile

import (
	"fmt"
	"strings"
)

// DiffLimits bound the diffs a ChangeSet carries into status, events and
// notifications; the full diff stays one `steward diff --live` away.
type DiffLimits struct {
	// PerObject caps one change's diff, in bytes.
	PerObject int
	// PerUnit caps the diffs of one change set together, in bytes.
	PerUnit int
}

// DefaultDiffLimits returns 64 KiB per object and 1 MiB per unit.
func DefaultDiffLimits() DiffLimits { return DiffLimits{PerObject: 64 << 10, PerUnit: 1 << 20} }

func (l DiffLimits) withDefaults() DiffLimits {
	def := DefaultDiffLimits()
	if l.PerObject <= 0 {
		l.PerObject = def.PerObject
	}
	if l.PerUnit <= 0 {
		l.PerUnit = def.PerUnit
	}
	return l
}

// CapDiffs returns cs with every diff cut to lim (zero fields take their
// defaults): a cut diff ends at a line boundary with a line saying how much
// more there is. cs itself is returned when nothing is cut; it is never
// changed.
func (cs *ChangeSet) CapDiffs(lim DiffLimits) *ChangeSet {
	if cs == nil {
		return nil
	}
	lim = lim.withDefaults()
	total := 0
	for _, c := range cs.Changes {
		total += len(c.Diff)
		if len(c.Diff) > lim.PerObject {
			total = lim.PerUnit + 1 // cut
			break
		}
	}
	if total <= lim.PerUnit {
		return cs
	}
	out := *cs
	out.Changes = make([]Change, len(cs.Changes))
	left := lim.PerUnit
	for i, c := range cs.Changes {
		c.Diff = cutDiff(c.Diff, min(lim.PerObject, left))
		left = max(left-len(c.Diff), 0)
		out.Changes[i] = c
	}
	return &out
}

// cutDiff keeps at most n bytes of d, up to its last whole line, and says
// what was left out.
func cutDiff(d string, n int) string {
	if len(d) <= n {
		return d
	}
	keep := d[:n]
	if i := strings.LastIndexByte(keep, '\n'); i >= 0 {
		keep = keep[:i+1]
	} else {
		keep = ""
	}
	return keep + fmt.Sprintf("… %s more, see `steward diff --live`\n", byteSize(len(d)-len(keep)))
}

// byteSize renders n bytes as "512 B", "3.4 KB", "19.8 MB".
func byteSize(n int) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1000)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1000/1000)
}
