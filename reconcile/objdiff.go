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

// IsSecret reports whether o is a core/v1 Secret.
func IsSecret(o *Object) bool {
	return o != nil && o.GetKind() == "Secret" && o.GetAPIVersion() == "v1"
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// MaskSecrets returns copies of a pair of versions of one object (either may
// be nil) in which a Secret's data, stringData and last-applied annotation are
// masked. Whether a value changed stays visible: an unchanged value is "***",
// a changed one "*** (before)" and "*** (after)". Non-Secrets are returned
// as they are.
func MaskSecrets(before, after *Object) (*Object, *Object) {
	if !IsSecret(before) && !IsSecret(after) {
		return before, after
	}
	if before != nil {
		before = before.DeepCopy()
	}
	if after != nil {
		after = after.DeepCopy()
	}
	for _, field := range []string{"data", "stringData"} {
		b := stringMap(before, field)
		a := stringMap(after, field)
		for k, bv := range b {
			av, both := a[k]
			switch {
			case !both:
				b[k] = "***"
			case av == bv:
				b[k], a[k] = "***", "***"
			default:
				b[k], a[k] = "*** (before)", "*** (after)"
			}
		}
		for k := range a {
			if _, both := b[k]; !both {
				a[k] = "***"
			}
		}
		setStringMap(before, field, b)
		setStringMap(after, field, a)
	}
	for _, o := range []*Object{before, after} {
		if o == nil {
			continue
		}
		if ann := o.GetAnnotations(); ann[lastApplied] != "" {
			ann[lastApplied] = "***"
			o.SetAnnotations(ann)
		}
	}
	return before, after
}

func stringMap(o *Object, field string) map[string]any {
	if o == nil {
		return nil
	}
	m, _ := o.Object[field].(map[string]any)
	return m
}

func setStringMap(o *Object, field string, m map[string]any) {
	if o != nil && m != nil {
		o.Object[field] = m
	}
}

// ObjectChange is one object that differs between two object sets.
type ObjectChange struct {
	ID     ObjectID `json:"id"`
	Action Action   `json:"action"` // Created, Configured or Deleted
	Diff   string   `json:"diff"`   // unified YAML diff, secrets masked
}

// CompareObjects returns what changes from before to after, in ID order;
// unchanged objects are left out. Secrets are masked in the diffs.
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
		b, a := MaskSecrets(old[id], cur[id])
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
