package status

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

// maxRemoved bounds the removed-unit reports a store keeps.
const maxRemoved = 50

// AddRemoved records what became of units removed from the stack (the
// newest last; the oldest are dropped past a bound).
func (s *Store) AddRemoved(rms []reconcile.Removal) {
	if len(rms) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rm := range rms {
		// The newest report of a unit on a target replaces an older one
		// (a refused removal is reported every pass).
		head := fmt.Sprintf("unit %s (removed from the stack) on target %s:", rm.Unit, rm.Target)
		s.removed = slices.DeleteFunc(s.removed, func(x string) bool { return strings.HasPrefix(x, head) })
		s.removed = append(s.removed, reconcile.Redact(rm.String()))
	}
	if n := len(s.removed); n > maxRemoved {
		s.removed = slices.Clone(s.removed[n-maxRemoved:])
	}
}
