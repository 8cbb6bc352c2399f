package reconcile

import (
	"fmt"
	"time"
)

// waveState is one wave of a release as its target records it.
type waveState struct {
	Unit   string
	Target string
	// Hash is what the current revision generates for the wave.
	Hash string
	// Mark is the wave's mark on its target, nil when it has none.
	Mark *ReleaseMark
	// Err says the mark could not be read.
	Err error
}

// releaseView is a progressive release at one moment: its waves, in order,
// and its settings. Every decision about the release is made from it, so
// it is the same before and after a restart of steward.
type releaseView struct {
	name  string
	waves []waveState
	spec  Progressive
	now   time.Time
}

// ReleaseStatus is where a progressive release stands.
type ReleaseStatus struct {
	Unit  string
	Wave  int // 1-based: the wave in progress, or the frozen one; 0 when complete
	Waves int
	// Frozen says why the release is frozen ("" when it is not).
	Frozen string
	// Aborted is the revision whose release was aborted ("" when none),
	// and RolledBackTo the revision the waves that took it run again.
	Aborted, RolledBackTo string
	// SoakUntil is when wave Wave has soaked, while it soaks.
	SoakUntil time.Time
	// Revision is the revision being released.
	Revision string
}

// String is the release line of status: "wave 2 of 3, frozen: reason".
func (s ReleaseStatus) String() string {
	switch {
	case s.Aborted != "":
		return fmt.Sprintf("wave %d of %d, aborted: revision %s rolled back to %s; waiting for a new revision", s.Wave, s.Waves,
			ShortRevision(s.Aborted, RevisionWidth), ShortRevision(s.RolledBackTo, RevisionWidth))
	case s.Frozen != "":
		return fmt.Sprintf("wave %d of %d, frozen: %s", s.Wave, s.Waves, s.Frozen)
	case s.Wave == 0:
		return fmt.Sprintf("complete: %d waves at revision %s", s.Waves, ShortRevision(s.Revision, RevisionWidth))
	case !s.SoakUntil.IsZero():
		return fmt.Sprintf("wave %d of %d, soaking until %s", s.Wave, s.Waves, s.SoakUntil.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("wave %d of %d, applying revision %s", s.Wave, s.Waves, ShortRevision(s.Revision, RevisionWidth))
}

// failedWaves returns the indices of the waves whose mark says they failed.
func (v *releaseView) failedWaves() []int {
	var out []int
	for i, w := range v.waves {
		if w.Mark != nil && w.Mark.Failed != "" {
			out = append(out, i)
		}
	}
	return out
}

// frozen returns the first failed wave when more waves failed than the
// release tolerates, else -1. A failed mark of an earlier revision counts
// too: a new revision waits behind a frozen release.
func (v *releaseView) frozen() int {
	f := v.failedWaves()
	if len(f) > v.spec.MaxFailures {
		return f[0]
	}
	return -1
}

// aborted returns a wave whose mark says the release of its current hash
// was aborted, else -1.
func (v *releaseView) aborted() int {
	for i, w := range v.waves {
		if w.Mark != nil && w.Mark.Aborted != "" && w.Mark.Aborted == w.Hash {
			return i
		}
	}
	return -1
}

// passed reports whether wave i lets the next start: it runs the current
// hash healthy and has soaked, or its failure is tolerated. soakUntil is
// when it will have soaked, while it soaks.
func (v *releaseView) passed(i int) (ok bool, soakUntil time.Time) {
	w := v.waves[i]
	if w.Mark != nil && w.Mark.Failed != "" {
		return true, time.Time{} // tolerated: frozen() decides otherwise
	}
	if !w.Mark.healthyAt(w.Hash) {
		return false, time.Time{}
	}
	until := w.Mark.HealthySince.Add(v.spec.Soak.D())
	if v.now.Before(until) {
		return false, until
	}
	return true, time.Time{}
}

// status derives the release's status from its waves.
func (v *releaseView) status(rev string) ReleaseStatus {
	s := ReleaseStatus{Unit: v.name, Waves: len(v.waves), Revision: rev}
	if i := v.aborted(); i >= 0 {
		m := v.waves[i].Mark
		s.Wave, s.Aborted, s.RolledBackTo = i+1, m.AbortedRevision, m.Revision
		return s
	}
	if i := v.frozen(); i >= 0 {
		m := v.waves[i].Mark
		s.Wave = i + 1
		s.Frozen = fmt.Sprintf("target %s failed revision %s: %s", v.waves[i].Target, ShortRevision(m.Revision, RevisionWidth), m.Failed)
		return s
	}
	last := len(v.waves) - 1
	for i := range v.waves {
		ok, until := v.passed(i)
		if !ok && i == last && !until.IsZero() {
			ok = true // the last wave's soak gates nothing: it is done once healthy
		}
		if !ok {
			s.Wave, s.SoakUntil = i+1, until
			return s
		}
	}
	return s
}

// gate decides whether wave k may be applied now. When it may not, why says
// what it waits for and retry when to look again (zero: when an earlier
// wave moves). retryHeld says a person resumed the wave after a failure.
func (v *releaseView) gate(k int, command string) (why string, retry time.Time, retryHeld bool) {
	for i, w := range v.waves {
		if w.Err != nil && i <= k {
			return fmt.Sprintf("release state on target %s unreadable: %v", w.Target, w.Err), time.Time{}, false
		}
	}
	if w := v.waves[k]; w.Mark.healthyAt(w.Hash) {
		return "", time.Time{}, false // it runs this revision already: a drift correction
	}
	if i := v.aborted(); i >= 0 {
		m := v.waves[i].Mark
		return fmt.Sprintf("release of revision %s aborted (rolled back to %s); waiting for a new revision",
			ShortRevision(m.AbortedRevision, RevisionWidth), ShortRevision(m.Revision, RevisionWidth)), time.Time{}, false
	}
	if i := v.frozen(); i >= 0 {
		st := v.status("")
		return fmt.Sprintf("release frozen at wave %d of %d (%s); %s resume|abort %s", i+1, len(v.waves), st.Frozen, command, v.name), time.Time{}, false
	}
	for i := 0; i < k; i++ {
		ok, until := v.passed(i)
		if ok {
			continue
		}
		w := v.waves[i]
		if !until.IsZero() {
			return fmt.Sprintf("waiting for wave %d of %d (target %s) to soak until %s", i+1, len(v.waves), w.Target, until.UTC().Format(time.RFC3339)), until, false
		}
		return fmt.Sprintf("waiting for wave %d of %d (target %s) to apply this revision healthy", i+1, len(v.waves), w.Target), time.Time{}, false
	}
	m := v.waves[k].Mark
	return "", time.Time{}, m != nil && m.Resumed
}
