package reconcile

import (
	"context"
	"time"
)

// ReleaseRecorder is a target that keeps, with a wave unit's inventory, where
// a progressive release stands on it (ReleaseMark). The state of a release
// is derived from these marks alone, so a restarted steward picks it up
// where it was, soak clock included. A wave whose target is not a
// ReleaseRecorder is not applied.
type ReleaseRecorder interface {
	// ReleaseMark returns the unit's mark on the target, nil when it has
	// none. On a target of several hosts, a mark the hosts disagree on
	// is returned with an empty Hash (the wave is not at any revision).
	ReleaseMark(ctx context.Context, u *Unit) (*ReleaseMark, error)
	// SetReleaseMark records m as the unit's mark (nil removes it).
	SetReleaseMark(ctx context.Context, u *Unit, m *ReleaseMark) error
}

// ReleaseMark is where one wave of a progressive release stands on its
// target.
type ReleaseMark struct {
	// Revision is the first revision that applied Hash to the wave.
	Revision string `json:"revision"`
	// Hash is the digest of the objects (and inputs) the wave last applied.
	Hash string `json:"hash"`
	// HealthySince is when the wave was first applied healthy at Hash
	// (zero while it is not): the soak is counted from it.
	HealthySince time.Time `json:"healthySince,omitzero"`
	// Failed says why applying Hash failed; FailedAt when. A failed mark
	// freezes the release until it is resumed or aborted.
	Failed   string    `json:"failed,omitempty"`
	FailedAt time.Time `json:"failedAt,omitzero"`
	// Previous is the last revision the wave ran healthy before Hash: what
	// an abort rolls it back to ("" when it ran none).
	Previous string `json:"previous,omitempty"`
	// Resumed marks a failed wave a person resumed: it is applied again,
	// past a target's own hold of a revision that failed its health check.
	Resumed bool `json:"resumed,omitempty"`
	// Aborted is the hash whose release was aborted on this wave: it is
	// not applied again until the unit generates something else.
	Aborted string `json:"aborted,omitempty"`
	// AbortedRevision is the revision whose release was aborted.
	AbortedRevision string `json:"abortedRevision,omitempty"`
}

// healthyAt reports whether the wave runs hash, healthy.
func (m *ReleaseMark) healthyAt(hash string) bool {
	return m != nil && hash != "" && m.Hash == hash && m.Failed == "" && !m.HealthySince.IsZero()
}

// maxFailedReason bounds the failure kept in a mark (an inventory is not a
// log).
const maxFailedReason = 1024

// nextMark is the mark of a wave after an apply of hash at rev ended with
// failure (nil: healthy) at now. A wave that stays healthy at the same
// hash keeps its mark, soak clock included: a restart or a drift
// correction does not start the soak again.
func nextMark(old *ReleaseMark, rev, hash string, failure error, now time.Time) *ReleaseMark {
	m := &ReleaseMark{Revision: rev, Hash: hash}
	if old != nil {
		switch {
		case old.Hash == hash:
			m.Revision, m.Previous = old.Revision, old.Previous
			if failure == nil && old.Failed == "" && !old.Resumed {
				m.HealthySince = old.HealthySince
			}
		case old.Failed == "" && !old.HealthySince.IsZero():
			m.Previous = old.Revision
		default:
			m.Previous = old.Previous
		}
	}
	if failure != nil {
		msg := Redact(failure.Error())
		if len(msg) > maxFailedReason {
			msg = msg[:maxFailedReason] + "…"
		}
		m.Failed, m.FailedAt = msg, now.UTC()
		return m
	}
	if m.HealthySince.IsZero() {
		m.HealthySince = now.UTC()
	}
	return m
}

// sameMark reports whether a and b record the same thing.
func sameMark(a, b *ReleaseMark) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Revision == b.Revision && a.Hash == b.Hash && a.HealthySince.Equal(b.HealthySince) &&
		a.Failed == b.Failed && a.FailedAt.Equal(b.FailedAt) && a.Previous == b.Previous &&
		a.Resumed == b.Resumed && a.Aborted == b.Aborted && a.AbortedRevision == b.AbortedRevision
}
