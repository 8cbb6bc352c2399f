package reconcile_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// restated is how a target may restate its failed changes as an error.
type restated struct{}

func (restated) Error() string        { return "unit web: 1 objects failed" }
func (restated) Is(target error) bool { return target == reconcile.ErrChangesFailed }

func TestUnitFailure(t *testing.T) {
	bad := reconcile.Change{Object: reconcile.ObjectID{Kind: "ConfigMap", Name: "b"}, Action: reconcile.Failed, Message: "rejected"}
	ok := reconcile.Change{Object: reconcile.ObjectID{Kind: "ConfigMap", Name: "a"}, Action: reconcile.Created}
	inventory := errors.New("write inventory: timeout")
	tests := []struct {
		name string
		cs   *reconcile.ChangeSet
		err  error
		want string // "" for success
	}{
		{"clean", &reconcile.ChangeSet{Changes: []reconcile.Change{ok}}, nil, ""},
		{"failed changes, no error (machines)", &reconcile.ChangeSet{Changes: []reconcile.Change{ok, bad}}, nil,
			"1 of 2 objects failed; first: ConfigMap/b failed: rejected"},
		{"failed changes restated (kubernetes)", &reconcile.ChangeSet{Changes: []reconcile.Change{ok, bad}}, restated{},
			"1 of 2 objects failed; first: ConfigMap/b failed: rejected"},
		{"restated and a unit-wide error", &reconcile.ChangeSet{Changes: []reconcile.Change{ok, bad}}, errors.Join(inventory, restated{}),
			"1 of 2 objects failed; first: ConfigMap/b failed: rejected\nwrite inventory: timeout"},
		{"aborted", nil, fmt.Errorf("plan: %w", inventory), "plan: write inventory: timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := reconcile.UnitFailure(tt.cs, reconcile.Aborted(tt.err))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
