package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestGuardPrune(t *testing.T) {
	changes := func(actions ...Action) []Change {
		out := make([]Change, len(actions))
		for i, a := range actions {
			out[i] = Change{Object: ObjectID{Kind: "ConfigMap", Name: string(rune('a' + i))}, Action: a}
		}
		return out
	}
	obj := []*Object{{}}
	tests := []struct {
		name    string
		unit    Unit
		objects []*Object
		changes []Change
		want    string // "" passes
	}{
		{"nothing deleted", Unit{Name: "u"}, obj, changes(Unchanged, Created), ""},
		{"empty output", Unit{Name: "u"}, nil, changes(Deleted, Deleted, Deleted), "would delete all 3 objects of unit u: it generated none"},
		{"empty output allowed", Unit{Name: "u", AllowEmpty: true}, nil, changes(Deleted, Deleted), ""},
		{"half", Unit{Name: "u"}, obj, changes(Deleted, Unchanged), ""},
		{"over half", Unit{Name: "u"}, obj, changes(Deleted, Deleted, Unchanged, Created), "would delete 2 of the 3 objects of unit u (66%), more than its pruneLimit of 50%"},
		{"rename of the only object", Unit{Name: "u"}, obj, changes(Deleted, Created), "would delete 1 of the 1 objects"},
		{"own limit", Unit{Name: "u", PruneLimit: IntOrPercent{N: 70, Percent: true}}, obj, changes(Deleted, Deleted, Unchanged), ""},
		{"zero limit", Unit{Name: "u", PruneLimit: IntOrPercent{N: 0, Percent: true}}, obj, changes(Deleted, Unchanged, Unchanged), "more than its pruneLimit of 0%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := GuardPrune(&tt.unit, &Plan{Request: ApplyRequest{Objects: tt.objects}, Changes: tt.changes})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			var me *MassPruneError
			if err != nil && !errors.As(err, &me) {
				t.Fatalf("error %T is not a *MassPruneError", err)
			}
		})
	}
	if MassPruneAllowed(context.Background()) || !MassPruneAllowed(AllowMassPrune(context.Background())) {
		t.Error("AllowMassPrune does not mark the context")
	}
}
