package status

import (
	"slices"
	"sync"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// Store holds the status of every unit and of the source. It is safe for
// concurrent use; the zero value is not, use NewStore.
type Store struct {
	mu       sync.RWMutex
	order    []string // unit names in the order they were first set
	units    map[string]*UnitStatus
	source   Snapshot // Units unused
	ready    bool
	draining bool
	removed  []string // what became of units removed from the stack
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{units: map[string]*UnitStatus{}}
}

// Set replaces the status of the unit u.Name, adding it when new. Units are
// listed in the order they were first set: set them in dependency order.
func (s *Store) Set(u UnitStatus) {
	u = u.clone()
	u.LastError = reconcile.Redact(u.LastError)
	u.Message = reconcile.Redact(u.Message)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.units[u.Name]; !ok {
		s.order = append(s.order, u.Name)
	}
	s.units[u.Name] = &u
}

// Update changes the status of unit name in place under the store's lock,
// starting from a pending status when the unit is new. fn must not retain
// the pointer.
func (s *Store) Update(name string, fn func(u *UnitStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.units[name]
	if !ok {
		u = &UnitStatus{Name: name, State: StatePending}
		s.units[name] = u
		s.order = append(s.order, name)
	}
	prev := *u
	fn(u)
	u.Name = name
	// fn may have handed in slices it keeps: what it changed is copied and
	// redacted, what it left is the store's own already. PassCompleted
	// updates every unit each pass; copying every unit's last result again
	// was most of what the store allocated in a pass of 10 000 units.
	if u.LastResult != prev.LastResult && u.LastResult != nil {
		cs := *u.LastResult
		cs.Changes = slices.Clone(cs.Changes)
		u.LastResult = &cs
	}
	if !sameSlice(u.DependsOn, prev.DependsOn) {
		u.DependsOn = slices.Clone(u.DependsOn)
	}
	if u.LastError != prev.LastError {
		u.LastError = reconcile.Redact(u.LastError)
	}
	if u.Message != prev.Message {
		u.Message = reconcile.Redact(u.Message)
	}
	if u.Release != prev.Release {
		u.Release = reconcile.Redact(u.Release)
	}
}

// sameSlice reports whether a and b are the same slice: same length and
// backing array.
func sameSlice(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// Retain drops every unit whose name is not in names (units removed from
// the stack file).
func (s *Store) Retain(names []string) {
	keep := make(map[string]bool, len(names))
	for _, n := range names {
		keep[n] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	order := s.order[:0]
	for _, n := range s.order {
		if keep[n] {
			order = append(order, n)
		} else {
			delete(s.units, n)
		}
	}
	s.order = order
}

// SetSource records the outcome of one poll: the revision it yielded (kept
// from before when rev is "") and its error, if any. Credentials in source
// and in the error text are removed.
func (s *Store) SetSource(source, rev string, fetchedAt time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.source.Source = reconcile.Redact(source)
	if rev != "" {
		s.source.Revision = rev
	}
	s.source.FetchedAt = fetchedAt
	s.source.SourceError = ""
	if err != nil {
		s.source.SourceError = reconcile.Redact(err.Error())
	}
}

// MarkReady records that the first reconcile pass completed: /readyz
// answers 200 from now on.
func (s *Store) MarkReady() {
	s.mu.Lock()
	s.ready = true
	s.mu.Unlock()
}

// MarkDraining records that the daemon is shutting down: /readyz answers 503
// again so that no new traffic (webhooks) is sent to it.
func (s *Store) MarkDraining() {
	s.mu.Lock()
	s.draining = true
	s.mu.Unlock()
}

// Ready reports whether the first pass completed and the daemon is not
// shutting down.
func (s *Store) Ready() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.ready && !s.draining
}

// Snapshot returns a deep copy of the whole status.
func (s *Store) Snapshot() Snapshot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	snap := s.source
	snap.Ready = s.ready && !s.draining
	snap.Removed = slices.Clone(s.removed)
	snap.Units = make([]UnitStatus, 0, len(s.order))
	for _, n := range s.order {
		snap.Units = append(snap.Units, s.units[n].clone())
	}
	return snap
}
