package status

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Query selects units of the status: /api/status and the page take it from
// their URL, so that an estate of thousands of units is read a slice at a
// time. The zero Query selects every unit.
type Query struct {
	// Units are unit names or path.Match globs ("web-*"); a unit matching
	// any is selected. Empty selects all.
	Units []string
	// States are unit states (ready, failed, ...); empty selects all.
	States []string
	// Targets are target names; empty selects all.
	Targets []string
	// Offset skips that many selected units; Limit caps how many are
	// returned (0: no cap).
	Offset, Limit int
}

// States lists every state a unit can be in, failing first: the order the
// page shows them in.
var States = []string{StateFailed, StateBlocked, StateProgressing, StatePending, StateSuspended, StateReady}

// ParseQuery reads a Query from URL parameters: unit, state and target
// (each repeatable and comma-separated), offset and limit. A state that
// does not exist, a bad glob or a bad number is an error naming the
// parameter.
func ParseQuery(v url.Values) (Query, error) {
	var q Query
	q.Units = listParam(v, "unit")
	for _, u := range q.Units {
		if _, err := path.Match(u, ""); err != nil {
			return q, fmt.Errorf("unit: bad pattern %q: %w", u, err)
		}
	}
	q.States = listParam(v, "state")
	for _, s := range q.States {
		if !slices.Contains(States, s) {
			return q, fmt.Errorf("state: no state %q (want one of %s)", s, strings.Join(States, ", "))
		}
	}
	q.Targets = listParam(v, "target")
	for _, p := range []struct {
		name string
		into *int
	}{{"offset", &q.Offset}, {"limit", &q.Limit}} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return q, fmt.Errorf("%s: want a number >= 0, found %q", p.name, s)
			}
			*p.into = n
		}
	}
	return q, nil
}

func listParam(v url.Values, name string) []string {
	var out []string
	for _, s := range v[name] {
		for f := range strings.SplitSeq(s, ",") {
			if f = strings.TrimSpace(f); f != "" {
				out = append(out, f)
			}
		}
	}
	return out
}

// Encode returns q as URL parameters (ParseQuery's inverse).
func (q Query) Encode() url.Values {
	v := url.Values{}
	if len(q.Units) > 0 {
		v.Set("unit", strings.Join(q.Units, ","))
	}
	if len(q.States) > 0 {
		v.Set("state", strings.Join(q.States, ","))
	}
	if len(q.Targets) > 0 {
		v.Set("target", strings.Join(q.Targets, ","))
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	return v
}

// Filtered reports whether q selects fewer than every unit.
func (q Query) Filtered() bool { return len(q.Units)+len(q.States)+len(q.Targets) > 0 }

func (q Query) matches(u *UnitStatus) bool {
	state := u.State
	if state == "" {
		state = StatePending
	}
	if len(q.States) > 0 && !slices.Contains(q.States, state) {
		return false
	}
	if len(q.Targets) > 0 && !slices.Contains(q.Targets, u.Target) {
		return false
	}
	if len(q.Units) == 0 {
		return true
	}
	for _, p := range q.Units {
		if ok, _ := path.Match(p, u.Name); ok {
			return true
		}
	}
	return false
}

// Order is how a query's units are sorted.
type Order int

const (
	// ByStore keeps the order units were first set in (dependency order).
	ByStore Order = iota
	// ByState puts failing units first (the order of States), then the
	// store's order.
	ByState
	// ByTarget groups units by target name, failing first within a target.
	ByTarget
)

// Result is what a query selected: the status with only the selected
// units (after Offset and Limit), how many matched in all, and how many
// units of the whole store are in each state.
type Result struct {
	Snapshot
	Matched int
	Counts  map[string]int
}

// Query returns the units q selects in the given order. Only the units
// returned are copied, so a page of 100 of 10 000 units costs a pass over
// the names and states and 100 copies, not a copy of the whole store.
func (s *Store) Query(q Query, order Order) Result {
	s.mu.RLock()
	defer s.mu.RUnlock()
	res := Result{Snapshot: s.source, Counts: map[string]int{}}
	res.Ready = s.ready && !s.draining
	sel := make([]*UnitStatus, 0, len(s.order))
	for _, n := range s.order {
		u := s.units[n]
		state := u.State
		if state == "" {
			state = StatePending
		}
		res.Counts[state]++
		if q.matches(u) {
			sel = append(sel, u)
		}
	}
	res.Matched = len(sel)
	if order != ByStore {
		rank := func(u *UnitStatus) int {
			if i := slices.Index(States, u.State); i >= 0 {
				return i
			}
			return slices.Index(States, StatePending)
		}
		slices.SortStableFunc(sel, func(a, b *UnitStatus) int {
			if order == ByTarget {
				if c := strings.Compare(a.Target, b.Target); c != 0 {
					return c
				}
			}
			return rank(a) - rank(b)
		})
	}
	sel = sel[min(q.Offset, len(sel)):]
	if q.Limit > 0 && len(sel) > q.Limit {
		sel = sel[:q.Limit]
	}
	res.Units = make([]UnitStatus, len(sel))
	for i, u := range sel {
		res.Units[i] = u.clone()
	}
	return res
}
