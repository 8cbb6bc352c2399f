package reconcile

import (
	"context"
	"io/fs"
	"log/slog"
	"time"
)

// GenerateRequest is what a generator is given: one unit of one revision.
type GenerateRequest struct {
	// Tree is the revision's tree rooted at the repository root. It is
	// read-only and confined: nothing outside the repository is reachable.
	Tree fs.FS
	// Dir is the unit's path within Tree, slash-separated and clean.
	Dir string
	// LocalDir is the repository root on disk when the revision is checked
	// out there, "" when Tree is read straight from git's object store.
	LocalDir string
	// Unit is the unit being generated.
	Unit *Unit
	// Namespace is the unit's namespace, else its Kubernetes target's (""
	// when neither sets one): helm's release namespace.
	Namespace string
	// Revision is the commit being generated ("" for a working tree).
	Revision string
	// Inputs are the unit's inputs (its outputs' values from the units it
	// depends on), by name; generators pass them in their idiom.
	Inputs Inputs
	// Params are the parameters of a package unit (its with:, defaulted
	// and validated); generators pass them in their idiom.
	Params map[string]any
	// Logger receives the generator's warnings, with the unit and revision
	// attached; nil discards them.
	Logger *slog.Logger
}

// Generator turns a unit's directory into objects.
type Generator interface {
	Generate(ctx context.Context, req GenerateRequest) ([]*Object, error)
}

// ApplyRequest is one unit's objects for one target.
type ApplyRequest struct {
	Unit     *Unit
	Revision string
	Objects  []*Object
	// Inputs are the values the objects were generated with; machine File
	// templates see them as .Inputs.
	Inputs Inputs
}

// Target applies objects to a system. Plan reads the live state and changes
// nothing; Apply executes exactly the plan it is given.
type Target interface {
	Plan(ctx context.Context, req ApplyRequest) (*Plan, error)
	Apply(ctx context.Context, plan *Plan) (*ChangeSet, error)
}

// ObjectReader is a Target whose Plan and Apply only read the objects of a
// request (never default or change them in place): the engine hands it the
// generation's own objects rather than copies.
type ObjectReader interface {
	ReadsObjectsOnly()
}

// Revision is one commit of the source and its tree.
type Revision struct {
	ID      string    // commit SHA
	Tree    fs.FS     // the commit's tree, read-only
	Dir     string    // checkout on disk, "" when Tree is not on disk
	Time    time.Time // committer time
	Subject string    // first line of the commit message
}

// Source yields the revision to reconcile.
type Source interface {
	// Poll returns the newest revision of what the source tracks. It
	// fetches only when the tracked ref moved.
	Poll(ctx context.Context) (*Revision, error)
}
