package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Object is one system description: a Kubernetes object or a machine kind
// (apiVersion machine.steward.dev/v1). Both share one shape so checks, diffs
// and inventories treat them alike.
type Object = unstructured.Unstructured

// MachineAPIVersion is the apiVersion of the machine kinds.
const MachineAPIVersion = "machine.steward.dev/v1"

// IsMachine reports whether o is a machine kind rather than a Kubernetes object.
func IsMachine(o *Object) bool { return o.GetAPIVersion() == MachineAPIVersion }

// ObjectID identifies an object within a target: its group, kind, namespace
// and name. The version is not part of the identity.
type ObjectID struct {
	Group     string `json:"group,omitempty"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// IDOf returns the identity of o.
func IDOf(o *Object) ObjectID {
	return ObjectID{
		Group:     o.GroupVersionKind().Group,
		Kind:      o.GetKind(),
		Namespace: o.GetNamespace(),
		Name:      o.GetName(),
	}
}

// String renders the identity as Kind/name, Kind/namespace/name, or with the
// group first when there is one: apps/Deployment/ns/name.
func (id ObjectID) String() string {
	var b strings.Builder
	if id.Group != "" {
		b.WriteString(id.Group)
		b.WriteByte('/')
	}
	b.WriteString(id.Kind)
	b.WriteByte('/')
	if id.Namespace != "" {
		b.WriteString(id.Namespace)
		b.WriteByte('/')
	}
	b.WriteString(id.Name)
	return b.String()
}

// Compare orders identities by group, kind, namespace, then name.
func (id ObjectID) Compare(other ObjectID) int {
	return cmp.Or(
		cmp.Compare(id.Group, other.Group),
		cmp.Compare(id.Kind, other.Kind),
		cmp.Compare(id.Namespace, other.Namespace),
		cmp.Compare(id.Name, other.Name),
	)
}

// SortObjects sorts objects into the stable order every output uses.
func SortObjects(objs []*Object) {
	slices.SortStableFunc(objs, func(a, b *Object) int { return IDOf(a).Compare(IDOf(b)) })
}

// DuplicateError reports two objects with the same identity in one unit.
type DuplicateError struct {
	ID ObjectID
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("duplicate object %s", e.ID)
}

// CheckDuplicates returns a *DuplicateError for the first identity that occurs
// twice in objs.
func CheckDuplicates(objs []*Object) error {
	seen := make(map[ObjectID]struct{}, len(objs))
	for _, o := range objs {
		id := IDOf(o)
		if _, ok := seen[id]; ok {
			return &DuplicateError{ID: id}
		}
		seen[id] = struct{}{}
	}
	return nil
}
