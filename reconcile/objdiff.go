package reconcile

import (
	"fmt"
	"slices"

	"go.yaml.in/yaml/v2"
)

// MarshalObject renders o as YAML with sorted keys, the stable form every
// output and diff uses. It is what sigs.k8s.io/yaml (kubectl) prints, without
// the JSON round trip: unstructured objects already hold JSON values.
func MarshalObject(o *Object) ([]byte, error) {
	b, err := yaml.Marshal(o.Object)
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", IDOf(o), err)
	}
	return b, nil
}

// ObjectChange is one object that differs between two object sets.
type ObjectChange struct {
	ID     ObjectID `json:"id"`
	Action Action   `json:"action"` // Created, Configured or Deleted
	Diff   string   `json:"diff"`   // unified YAML diff, secrets masked
}

// CompareObjects returns what changes from before to after, in ID order;
// unchanged objects are left out. Sensitive values are masked in the diffs
// (MaskPair).
func CompareObjects(before, after []*Object) ([]ObjectChange, error) {
	old := make(map[ObjectID]*Object, len(before))
	for _, o := range before {
		old[IDOf(o)] = o
	}
	cur := make(map[ObjectID]*Object, len(after))
	for _, o := range after {
		cur[IDOf(o)] = o
	}
	ids := make([]ObjectID, 0, len(old)+len(cur))
	for id := range old {
		ids = append(ids, id)
	}
	for id := range cur {
		if _, ok := old[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, ObjectID.Compare)
	var out []ObjectChange
	for _, id := range ids {
		b, a := MaskPair(old[id], cur[id])
		by, err := marshalOrEmpty(b)
		if err != nil {
			return nil, err
		}
		ay, err := marshalOrEmpty(a)
		if err != nil {
			return nil, err
		}
		action := Configured
		switch {
		case b == nil:
			action = Created
		case a == nil:
			action = Deleted
		case string(by) == string(ay):
			continue
		}
		name := id.String()
		out = append(out, ObjectChange{ID: id, Action: action, Diff: UnifiedDiff("a/"+name, "b/"+name, string(by), string(ay))})
	}
	return out, nil
}

func marshalOrEmpty(o *Object) ([]byte, error) {
	if o == nil {
		return nil, nil
	}
	return MarshalObject(o)
}
