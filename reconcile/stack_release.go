package reconcile

import (
	"fmt"
	"slices"
	"strings"
)

// Progressive moves a new revision of a unit through its targets wave by
// wave (release.go).
type Progressive struct {
	Soak        Duration `yaml:"soak,omitempty" doc:"How long every target of a wave must stay healthy before the next wave starts (default 0: as soon as it is healthy)."`
	MaxFailures int      `yaml:"maxFailures,omitempty" doc:"Failed waves tolerated before the release freezes (default 0: the first failure freezes it)."`
}

// wave is what ParseStack makes of one target of a progressive unit: a
// unit of its own, named RELEASE.TARGET (a dot never appears in a unit
// name), ordered after the wave before it.
type wave struct {
	release string   // the progressive unit's name in the stack file
	index   int      // 0-based position in targets
	units   []string // every wave's unit, in order
	targets []string // every wave's target, in order
	spec    Progressive
}

// WaveName is the name of the unit that applies release's revisions to
// target.
func WaveName(release, target string) string { return release + "." + target }

// Wave reports the progressive unit u is a wave of, its 0-based index and
// the number of waves; ok is false for a unit that is no wave.
func (u *Unit) Wave() (release string, index, count int, ok bool) {
	if u.wave == nil {
		return "", 0, 0, false
	}
	return u.wave.release, u.wave.index, len(u.wave.units), true
}

// Release returns the wave units of the progressive unit named name, in
// order, or nil when the stack has no such release.
func (s *Stack) Release(name string) []*Unit {
	names, ok := s.releases[name]
	if !ok {
		return nil
	}
	out := make([]*Unit, 0, len(names))
	for _, n := range names {
		if u := s.Unit(n); u != nil {
			out = append(out, u)
		}
	}
	return out
}

// Releases returns the names of the stack's progressive units, sorted.
func (s *Stack) Releases() []string { return sortedKeys(s.releases) }

// expandNames replaces each progressive unit's name in names by its
// waves' names, so that commands and lists naming the unit of the stack
// file reach every wave.
func (s *Stack) expandNames(names []string) []string {
	if len(s.releases) == 0 || len(names) == 0 {
		return names
	}
	var out []string
	for _, n := range names {
		if ws, ok := s.releases[n]; ok {
			out = append(out, ws...)
		} else {
			out = append(out, n)
		}
	}
	return out
}

// isWaveName reports whether name is the unit of one wave of a progressive
// unit of s, before expansion (a window may govern one wave).
func (s *Stack) isWaveName(name string) bool {
	for _, u := range s.Units {
		for _, t := range u.Targets {
			if WaveName(u.Name, t) == name {
				return true
			}
		}
	}
	return false
}

// validateRelease checks a unit with targets or progressive: the waves
// name distinct targets, there are two or more, and every field the unit
// sets fits at least one wave's kind.
func (s *Stack) validateRelease(at string, u *Unit, fail func(string, string, ...any)) {
	if u.Target != "" {
		fail(at+".target", "set target or targets, not both")
	}
	if u.Progressive == nil {
		fail(at+".targets", "targets needs progressive: {soak: DURATION} (or use target: for one target)")
	}
	if len(u.Targets) == 0 {
		fail(at+".progressive", "progressive needs targets: [WAVE, ...], two or more")
		return
	}
	if len(u.Targets) < 2 {
		fail(at+".targets", "a progressive release needs two or more targets, found 1 (use target: %s)", u.Targets[0])
	}
	seen := map[string]int{}
	kube, machine := false, false
	for j, t := range u.Targets {
		tat := fmt.Sprintf("%s.targets[%d]", at, j)
		spec, ok := s.Targets[t]
		switch {
		case t == "":
			fail(tat, "empty target name")
		case !ok:
			fail(tat, "names no target %q (targets: %s)", t, strings.Join(sortedKeys(s.Targets), ", "))
		default:
			if first, dup := seen[t]; dup {
				fail(tat, "duplicate target %q (first at targets[%d])", t, first)
			}
			seen[t] = j
			kube = kube || spec.Kubernetes != nil
			machine = machine || spec.Machines != nil || spec.Local != nil
		}
		if n := WaveName(u.Name, t); ok && len(n) > 63 {
			fail(tat, "the wave's unit %q is longer than 63 characters", n)
		}
	}
	if p := u.Progressive; p != nil {
		if p.MaxFailures < 0 {
			fail(at+".progressive.maxFailures", "maxFailures %d is negative", p.MaxFailures)
		} else if p.MaxFailures >= len(u.Targets) {
			fail(at+".progressive.maxFailures", "maxFailures %d tolerates every one of the %d waves failing", p.MaxFailures, len(u.Targets))
		}
	}
	if len(u.Outputs) > 0 {
		fail(at+".outputs", "a progressive unit records no outputs (each wave would record its own)")
	}
	if u.Output != "" {
		fail(at+".output", "a progressive unit has no committed output (each wave generates for its own target)")
	}
	if !u.PruneLimit.IsZero() && !u.PruneLimit.Percent {
		fail(at+".pruneLimit", "want a percentage such as 50%%, found %d", u.PruneLimit.N)
	}
	if len(seen) == 0 {
		return // no known target: the kinds cannot be judged
	}
	if u.Health != nil && !machine {
		fail(at+".health", "health applies to machine and local targets only; no wave of %s is one (use wait)", u.Name)
	}
	for _, f := range []struct {
		set  bool
		name string
	}{{u.Wait != nil, "wait"}, {u.ServiceAccount != "", "serviceAccount"}, {u.Force, "force"}} {
		if f.set && !kube {
			fail(at+"."+f.name, "%s applies to kubernetes targets only; no wave of %s is one", f.name, u.Name)
		}
	}
}

// expandReleases replaces every progressive unit by its waves (after
// Validate): one unit per target, each ordered after the one before, with
// the fields that fit its target's kind (and the updater on the first). Dependencies on the progressive
// unit, the windows and checks naming it, name every wave instead.
func (s *Stack) expandReleases() {
	if !slices.ContainsFunc(s.Units, func(u Unit) bool { return len(u.Targets) > 0 }) {
		return
	}
	s.releases = map[string][]string{}
	var out []Unit
	var at []int
	for i, u := range s.Units {
		if len(u.Targets) == 0 {
			out = append(out, u)
			at = append(at, i)
			continue
		}
		w := &wave{release: u.Name, targets: slices.Clone(u.Targets), spec: *u.Progressive}
		for _, t := range u.Targets {
			w.units = append(w.units, WaveName(u.Name, t))
		}
		s.releases[u.Name] = w.units
		for k, t := range u.Targets {
			wu := u
			wu.Name, wu.Target, wu.Targets, wu.Progressive = w.units[k], t, nil, nil
			wu.DependsOn = slices.Clone(u.DependsOn)
			wv := *w
			wv.index = k
			wu.wave = &wv
			if k > 0 {
				wu.Updater = nil // it edits the repository: once per image update, not once per wave
			}
			if s.Targets[t].Kubernetes != nil {
				wu.Health = nil
			} else {
				wu.Wait, wu.ServiceAccount, wu.Force = nil, "", false
			}
			out = append(out, wu)
			at = append(at, i)
		}
	}
	for i := range out {
		out[i].DependsOn = s.expandNames(out[i].DependsOn)
	}
	for i := range s.Windows {
		s.Windows[i].Units = s.expandNames(s.Windows[i].Units)
	}
	for i := range s.Checks {
		s.Checks[i].Match.Units = s.expandNames(s.Checks[i].Match.Units)
	}
	s.Units, s.unitAt = out, at
}

// fileIndex returns the index in the stack file of s.Units[i], and whether
// s.Units[i] is the first unit made of that entry.
func (s *Stack) fileIndex(i int) (int, bool) {
	if s.unitAt == nil || i >= len(s.unitAt) {
		return i, true
	}
	return s.unitAt[i], i == 0 || s.unitAt[i-1] != s.unitAt[i]
}

// orderAfter is the unit u's wave waits for within a pass: the wave before
// it, "" for none. It orders the scheduler without making the wave a
// dependency (a tolerated failure does not block the next wave; the
// release gate decides).
func (u *Unit) orderAfter() string {
	if u.wave == nil || u.wave.index == 0 {
		return ""
	}
	return u.wave.units[u.wave.index-1]
}

// WaveUnits returns the units of every wave of u's release, in order (nil
// for a unit that is no wave).
func (u *Unit) WaveUnits() []string {
	if u.wave == nil {
		return nil
	}
	return slices.Clone(u.wave.units)
}

// waveKindProblems refuses a wave whose rendered objects do not fit its
// target's kind: machine kinds for a Kubernetes wave, Kubernetes objects
// for a machine or local one. Waves of mixed kinds need a generator that
// renders for each (STEWARD_TARGET).
func waveKindProblems(stack *Stack, rendered []Rendered) []error {
	var errs []error
	for _, r := range rendered {
		if r.Err != nil || r.Unit == nil || r.Unit.wave == nil {
			continue
		}
		spec := stack.Targets[r.Unit.Target]
		kube := spec.Kubernetes != nil
		for _, o := range r.Objects {
			if IsMachine(o) != kube {
				continue
			}
			w := r.Unit.wave
			errs = append(errs, &UnitError{Unit: r.Unit.Name, Err: fmt.Errorf(
				"wave %d of %s: target %s is %s, but the generator renders %s for it (render for each wave's STEWARD_TARGET, or give the release waves of one kind)",
				w.index+1, w.release, r.Unit.Target, spec.Kind(), IDOf(o))})
			break
		}
	}
	return errs
}
