package reconcile

import (
	"errors"
	"fmt"
	"time"
)

// Action is what happened, or would happen, to one object.
type Action string

// The actions of a change set.
const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Deleted    Action = "deleted"
	Skipped    Action = "skipped"
	Failed     Action = "failed"
)

// Change is one object's action on one target (and host, for machines).
type Change struct {
	Object   ObjectID      `json:"object"`
	Host     string        `json:"host,omitempty"`
	Action   Action        `json:"action"`
	Diff     string        `json:"diff,omitempty"`    // unified diff, secrets masked
	Message  string        `json:"message,omitempty"` // reason for skipped/failed, or detail
	Duration time.Duration `json:"duration,omitempty"`
}

// Plan is what Apply would do for one unit on one target.
type Plan struct {
	Request ApplyRequest
	Changes []Change
	// Data is the target's own state that Apply needs to execute the plan.
	Data any
}

// HasChanges reports whether the plan changes anything.
func (p *Plan) HasChanges() bool { return changed(p.Changes) }

// ChangeSet is the result of applying a plan.
type ChangeSet struct {
	Unit     string        `json:"unit"`
	Target   string        `json:"target"`
	Revision string        `json:"revision"`
	Changes  []Change      `json:"changes"`
	Duration time.Duration `json:"duration"`
}

// Count returns how many changes have action a.
func (cs *ChangeSet) Count(a Action) int {
	n := 0
	for _, c := range cs.Changes {
		if c.Action == a {
			n++
		}
	}
	return n
}

// Failed returns the failed changes.
func (cs *ChangeSet) Failed() []Change {
	var out []Change
	for _, c := range cs.Changes {
		if c.Action == Failed {
			out = append(out, c)
		}
	}
	return out
}

// HasChanges reports whether anything was created, configured or deleted.
func (cs *ChangeSet) HasChanges() bool { return changed(cs.Changes) }

func changed(cs []Change) bool {
	for _, c := range cs {
		switch c.Action {
		case Created, Configured, Deleted:
			return true
		}
	}
	return false
}

// String renders a change the way the CLI prints it: "Kind/name created".
func (c Change) String() string {
	s := c.Object.String()
	if c.Host != "" {
		s = c.Host + " " + s
	}
	s = fmt.Sprintf("%s %s", s, c.Action)
	if c.Message != "" {
		s += ": " + c.Message
	}
	return s
}

// A target's ChangeSet is the result of Apply: objects that failed are
// changes with action Failed, and the error Apply returns means the run was
// aborted (or a unit-wide step after the changes failed: the inventory, the
// wait). The engine derives a unit's failure from both the same way for
// every target (UnitFailure).

// ErrChangesFailed marks an error of Apply that only restates the failed
// changes of its ChangeSet (a target's *FailedError matches it with
// errors.Is); the engine reads them from the ChangeSet instead.
var ErrChangesFailed = errors.New("changes failed")

// FailedChangesError is a unit whose applied ChangeSet holds failed changes.
type FailedChangesError struct {
	Failed []Change
	Total  int
}

func (e *FailedChangesError) Error() string {
	return fmt.Sprintf("%d of %d objects failed; first: %s", len(e.Failed), e.Total, e.Failed[0])
}

// Aborted returns err without the parts that only restate failed changes
// (ErrChangesFailed), or nil when nothing else is left.
func Aborted(err error) error {
	if err == nil || !errors.Is(err, ErrChangesFailed) {
		return err
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return nil
	}
	var rest []error
	for _, e := range j.Unwrap() {
		if e = Aborted(e); e != nil {
			rest = append(rest, e)
		}
	}
	return errors.Join(rest...)
}

// UnitFailure is the one rule deriving a unit's failure from what Apply
// returned: the failed changes of cs, and err (an aborted run, already
// without restated failures). It returns nil when the unit succeeded.
func UnitFailure(cs *ChangeSet, err error) error {
	var failed []Change
	if cs != nil {
		failed = cs.Failed()
	}
	if len(failed) == 0 {
		return err
	}
	fe := &FailedChangesError{Failed: failed, Total: len(cs.Changes)}
	if err != nil {
		return errors.Join(fe, err)
	}
	return fe
}
