package reconcile

import (
	"fmt"
	"strings"
	"testing"
)

// TestStackUnitIsIndexed keeps a hot path of the daemon fixed: looking a
// unit up by name goes through an index built when the stack is parsed, at
// any size (the daemon looks every unit up on every pass, and a scan made
// that N² at 10 000 units). A stack changed after parsing is still
// answered right, by the scan.
func TestStackUnitIsIndexed(t *testing.T) {
	for _, n := range []int{100, 2000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var b strings.Builder
			b.WriteString("apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: out}}\nunits:\n")
			for i := range n {
				fmt.Fprintf(&b, "  - {name: u%d, path: u%d, generator: {yaml: {}}, target: here}\n", i, i)
			}
			s, err := ParseStack([]byte(b.String()), "steward.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if len(s.byName) != n {
				t.Fatalf("index holds %d units, want %d", len(s.byName), n)
			}
			for i := range n {
				name := fmt.Sprintf("u%d", i)
				if u := s.Unit(name); u == nil || u.Name != name || u != &s.Units[s.byName[name]] {
					t.Fatalf("Unit(%s) = %v", name, u)
				}
			}
			if s.Unit("missing") != nil {
				t.Error("found a unit that is not there")
			}
			// Changed after parsing: the index is stale, the answer is not.
			s.Units[0], s.Units[1] = s.Units[1], s.Units[0]
			s.Units = append(s.Units, Unit{Name: "added"})
			if u := s.Unit("u0"); u == nil || u != &s.Units[1] {
				t.Errorf("after a swap, Unit(u0) = %v", u)
			}
			if u := s.Unit("added"); u == nil || u.Name != "added" {
				t.Errorf("after an append, Unit(added) = %v", u)
			}
		})
	}
}
