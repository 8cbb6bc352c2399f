package status

import (
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// The states of a unit.
const (
	StateReady       = "ready"       // the unit's revision is applied and healthy
	StateProgressing = "progressing" // a reconcile is running
	StateFailed      = "failed"      // the last reconcile failed; see LastError
	StateSuspended   = "suspended"   // suspended by the stack file or `steward suspend`
	StateBlocked     = "blocked"     // a sync window (or a dependency) holds it back
	StatePending     = "pending"     // not reconciled yet
)

// UnitStatus is what the daemon knows about one unit.
type UnitStatus struct {
	Name       string `json:"name"`
	Target     string `json:"target"`
	TargetKind string `json:"targetKind,omitempty"` // kubernetes, machines, local
	// Revision is the revision last applied successfully.
	Revision string `json:"revision,omitempty"`
	// LastAttemptedRevision is the revision of the last reconcile, applied
	// or not.
	LastAttemptedRevision string `json:"lastAttemptedRevision,omitempty"`
	// State is one of the State constants.
	State string `json:"state"`
	Ready bool   `json:"ready"`
	// Message says why the unit is in its state when LastError does not
	// (a window's name, the dependency waited for).
	Message     string               `json:"message,omitempty"`
	LastResult  *reconcile.ChangeSet `json:"lastResult,omitempty"`
	LastError   string               `json:"lastError,omitempty"`
	LastAttempt time.Time            `json:"lastAttempt,omitzero"`
	LastSuccess time.Time            `json:"lastSuccess,omitzero"`
	NextRun     time.Time            `json:"nextRun,omitzero"`
	// Drift is how many objects were found drifted at the last reconcile.
	Drift     int      `json:"drift"`
	DependsOn []string `json:"dependsOn,omitempty"`
	// Outputs are the unit's recorded outputs, sensitive ones masked.
	Outputs map[string]string `json:"outputs,omitempty"`
	// Owner is the replica that reconciles the unit (steward run --shards),
	// "" with one replica.
	Owner string `json:"owner,omitempty"`
	// Release is, for a wave of a progressive unit, where its release
	// stands: "wave 2 of 3, frozen: reason" (the same on every wave).
	Release string `json:"release,omitempty"`
}

// Snapshot is the whole status at one moment.
type Snapshot struct {
	// Revision is the revision the source last yielded.
	Revision string `json:"revision,omitempty"`
	// Source is where revisions come from (a repository URL, credentials
	// removed, and the ref it tracks).
	Source      string    `json:"source,omitempty"`
	FetchedAt   time.Time `json:"fetchedAt,omitzero"`
	SourceError string    `json:"sourceError,omitempty"`
	// Ready is true once the first reconcile pass completed.
	Ready bool         `json:"ready"`
	Units []UnitStatus `json:"units"`
	// Removed says what became of units removed from the stack: pruned,
	// or their inventory dropped and what was left in place.
	Removed []string `json:"removed,omitempty"`
	// Images is image automation's status, when it runs.
	Images *ImagesStatus `json:"images,omitempty"`
}

// Unit returns the status of the unit called name, or false.
func (s Snapshot) Unit(name string) (UnitStatus, bool) {
	for _, u := range s.Units {
		if u.Name == name {
			return u, true
		}
	}
	return UnitStatus{}, false
}

// clone returns a deep copy of u.
func (u UnitStatus) clone() UnitStatus {
	if u.LastResult != nil {
		cs := *u.LastResult
		cs.Changes = append([]reconcile.Change(nil), cs.Changes...)
		u.LastResult = &cs
	}
	u.DependsOn = append([]string(nil), u.DependsOn...)
	return u
}
