package kubernetes

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/stewardhq/steward/reconcile"
)

const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// Masks that replace Secret values in diffs.
const (
	maskSame   = "***"
	maskBefore = "*** (before)"
	maskAfter  = "*** (after)"
)

// diff renders a unified YAML diff from before to after (either may be nil)
// without status, server-maintained metadata, and with Secret values masked.
func (t *Target) diff(id reconcile.ObjectID, before, after *unstructured.Unstructured) string {
	var a, b *unstructured.Unstructured
	if before != nil {
		a = clean(before)
	}
	if after != nil {
		b = clean(after)
	}
	if id.Group == "" && id.Kind == "Secret" {
		maskSecrets(a, b)
		// kubectl and helm keep a Secret's plaintext in this annotation.
		for _, o := range []*unstructured.Unstructured{a, b} {
			if o != nil && o.GetAnnotations()[lastAppliedAnnotation] != "" {
				ann := o.GetAnnotations()
				ann[lastAppliedAnnotation] = maskSame
				o.SetAnnotations(ann)
			}
		}
	}
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

// maskSecrets replaces every value of data and stringData in a and b: equal
// values by one mask, changed values by a before and an after mask, so a
// diff shows which keys changed and never what they hold.
func maskSecrets(a, b *unstructured.Unstructured) {
	ad, bd := secretValues(a), secretValues(b)
	mask := func(o *unstructured.Unstructured, vals map[string]string, other map[string]string, changed string) {
		if o == nil {
			return
		}
		unstructured.RemoveNestedField(o.Object, "stringData")
		if len(vals) == 0 {
			unstructured.RemoveNestedField(o.Object, "data")
			return
		}
		out := make(map[string]any, len(vals))
		for k, v := range vals {
			if ov, ok := other[k]; ok && ov != v {
				out[k] = changed
			} else {
				out[k] = maskSame
			}
		}
		unstructured.SetNestedField(o.Object, out, "data")
	}
	mask(a, ad, bd, maskBefore)
	mask(b, bd, ad, maskAfter)
}

// secretValues returns data and stringData as one map (stringData wins, as
// on the server), values compared as base64 of data.
func secretValues(o *unstructured.Unstructured) map[string]string {
	if o == nil {
		return nil
	}
	out := map[string]string{}
	data, _, _ := unstructured.NestedMap(o.Object, "data")
	for k, v := range data {
		out[k] = fmt.Sprint(v)
	}
	sd, _, _ := unstructured.NestedMap(o.Object, "stringData")
	for k, v := range sd {
		out[k] = "s:" + fmt.Sprint(v)
	}
	return out
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
