package reconcile

import (
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
