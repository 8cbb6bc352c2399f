package machine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

func kindRank(kind string) int { return slices.Index(Kinds, kind) }

// orderResources sorts by kind rank (Directory by path, so parents come
// first; the rest by name), then moves every object after the objects it
// watches. Two objects managing the same thing, a watch of an undeclared
// object and a watch cycle are errors.
func orderResources(res []resource) ([]resource, error) {
	slices.SortStableFunc(res, func(a, b resource) int {
		return cmp.Or(cmp.Compare(kindRank(a.ID().Kind), kindRank(b.ID().Kind)),
			cmp.Compare(a.ident(), b.ident()), cmp.Compare(a.ID().Name, b.ID().Name))
	})
	byName := map[string]int{}
	owners := map[string]reconcile.ObjectID{}
	for i, r := range res {
		byName[r.ID().Kind+"/"+r.ID().Name] = i
		key := r.ID().Kind + ":" + r.ident()
		if r.ID().Kind != KindCommand {
			if other, dup := owners[key]; dup {
				return nil, &SpecError{Object: r.ID(), Msg: fmt.Sprintf("manages %s like %s", r.ident(), objName(other))}
			}
			owners[key] = r.ID()
		}
	}
	for _, r := range res {
		for i, w := range r.watchList() {
			if _, ok := byName[w]; !ok {
				return nil, &SpecError{Object: r.ID(), Field: fmt.Sprintf("spec.watches[%d]", i), Msg: fmt.Sprintf("%s is not declared in this unit", w)}
			}
		}
	}
	// Depth-first topological order that keeps the sorted order where the
	// watches allow.
	out := make([]resource, 0, len(res))
	state := make([]int, len(res)) // 0 new, 1 visiting, 2 done
	var visit func(i int, path []string) error
	visit = func(i int, path []string) error {
		switch state[i] {
		case 2:
			return nil
		case 1:
			return &SpecError{Object: res[i].ID(), Field: "spec.watches", Msg: "watch cycle: " + strings.Join(append(path, objName(res[i].ID())), " -> ")}
		}
		state[i] = 1
		for _, w := range res[i].watchList() {
			if err := visit(byName[w], append(path, objName(res[i].ID()))); err != nil {
				return err
			}
		}
		state[i] = 2
		out = append(out, res[i])
		return nil
	}
	for i := range res {
		if err := visit(i, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// sortForPrune orders orphans for removal: the reverse of the apply order
// (units stop first, users go last), deepest directories first.
func sortForPrune(es []*Entry) {
	slices.SortStableFunc(es, func(a, b *Entry) int {
		return cmp.Or(cmp.Compare(kindRank(b.Kind), kindRank(a.Kind)), cmp.Compare(b.Ident, a.Ident))
	})
}
