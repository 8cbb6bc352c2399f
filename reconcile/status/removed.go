package status

import (
	"slices"

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
		s.removed = append(s.removed, reconcile.Redact(rm.String()))
	}
	if n := len(s.removed); n > maxRemoved {
		s.removed = slices.Clone(s.removed[n-maxRemoved:])
	}
}
