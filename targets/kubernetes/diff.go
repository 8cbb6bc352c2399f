package kubernetes

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/stewardhq/steward/reconcile"
)

// objectDiff renders a unified YAML diff from before to after (either may be nil)
// without status, server-maintained metadata, and with sensitive values masked (reconcile.MaskPair).
func objectDiff(id reconcile.ObjectID, before, after *unstructured.Unstructured) string {
	var a, b *unstructured.Unstructured
	if before != nil {
		a = clean(before)
	}
	if after != nil {
		b = clean(after)
	}
	a, b = reconcile.MaskPair(a, b)
	return reconcile.UnifiedDiff("live/"+id.String(), "desired/"+id.String(), toYAML(a), toYAML(b))
}

func toYAML(o *unstructured.Unstructured) string {
	if o == nil {
		return ""
	}
	b, err := reconcile.MarshalObject(o)
	if err != nil {
		return fmt.Sprintf("# cannot render: %v\n", err)
	}
	return string(b)
}

// DiffText joins the diffs of a plan's changes, in order, for printing.
func DiffText(p *reconcile.Plan) string {
	var b strings.Builder
	changes := append([]reconcile.Change(nil), p.Changes...)
	sort.SliceStable(changes, func(i, j int) bool { return changes[i].Object.Compare(changes[j].Object) < 0 })
	for _, c := range changes {
		if c.Diff != "" {
			b.WriteString(c.Diff)
		}
	}
	return b.String()
}
