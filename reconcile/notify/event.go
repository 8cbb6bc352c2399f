package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// Kind is what happened to a unit.
type Kind string

// The kinds of events.
const (
	Applied        Kind = "applied"         // a revision was applied
	Failed         Kind = "failed"          // generation, checks or apply failed
	DriftCorrected Kind = "drift-corrected" // an interval re-apply changed live state back
	Progressing    Kind = "progressing"     // a revision started applying
)

// Event is one thing that happened to one unit.
type Event struct {
	Kind     Kind
	Unit     string
	Target   string
	Revision string // commit SHA; commit statuses need it
	// Error is the failure, for Failed. It must already be free of
	// credentials (the engine's errors are).
	Error string
	// Result is the unit's change set, when there is one.
	Result *reconcile.ChangeSet
	Time   time.Time
}

// Notifier delivers an event somewhere.
type Notifier interface {
	Notify(ctx context.Context, ev Event) error
}

// named is the optional ability of a notifier to name itself in logs.
type named interface{ Name() string }

// Summary is a one-line description of the event, at most n runes (n ≤ 0:
// no limit): "applied 3f9a1c2: 1 created, 2 configured".
func (ev Event) Summary(n int) string {
	var b strings.Builder
	b.WriteString(string(ev.Kind))
	if ev.Revision != "" {
		b.WriteString(" " + reconcile.ShortRevision(ev.Revision, reconcile.CompactRevisionWidth))
	}
	var parts []string
	if ev.Result != nil {
		for _, a := range []reconcile.Action{reconcile.Created, reconcile.Configured, reconcile.Deleted, reconcile.Failed, reconcile.Skipped} {
			if c := ev.Result.Count(a); c > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", c, a))
			}
		}
	}
	switch {
	case ev.Error != "":
		b.WriteString(": " + firstLine(ev.Error))
	case len(parts) > 0:
		b.WriteString(": " + strings.Join(parts, ", "))
	case ev.Result != nil:
		b.WriteString(": no changes")
	}
	return truncate(b.String(), n)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func truncate(s string, n int) string {
	r := []rune(s)
	if n <= 0 || len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
