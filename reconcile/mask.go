package reconcile

import "fmt"

// The one masking rule of every printer (diff --base and --live, verify,
// status, notifications): a sensitive value is never shown, only whether it
// changed. An unchanged value prints as MaskSame, a changed one as MaskBefore
// and MaskAfter.
const (
	MaskSame   = "***"
	MaskBefore = "*** (before)"
	MaskAfter  = "*** (after)"
)

// LastAppliedAnnotation is where kubectl and helm keep an object's applied
// configuration: for a Secret, its plaintext.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// IsSensitive reports whether o holds values no printer shows: a core/v1
// Secret (data, stringData), or a machine File with sensitive: true
// (content).
func IsSensitive(o *Object) bool {
	return isSecret(o) || isSensitiveFile(o)
}

func isSecret(o *Object) bool {
	return o != nil && o.GetKind() == "Secret" && IDOf(o).Group == ""
}

func isSensitiveFile(o *Object) bool {
	if o == nil || !IsMachine(o) || o.GetKind() != "File" {
		return false
	}
	spec, _ := o.Object["spec"].(map[string]any)
	s, _ := spec["sensitive"].(bool)
	return s
}

// MaskPair returns copies of two versions of one object (either may be nil)
// with their sensitive values masked, so that a diff of the pair shows which
// values changed and never what they hold:
//   - a Secret's data and stringData become one data map (as the API server
//     stores them), each value masked, and its last-applied annotation too;
//   - a sensitive File's content is masked.
//
// Objects that are not sensitive on either side are returned as they are.
func MaskPair(before, after *Object) (*Object, *Object) {
	switch {
	case isSecret(before) || isSecret(after):
		before, after = copyOrNil(before), copyOrNil(after)
		maskSecret(before, after)
	case isSensitiveFile(before) || isSensitiveFile(after):
		before, after = copyOrNil(before), copyOrNil(after)
		maskContent(before, after)
	}
	return before, after
}

func copyOrNil(o *Object) *Object {
	if o == nil {
		return nil
	}
	return o.DeepCopy()
}

func maskSecret(a, b *Object) {
	av, bv := secretValues(a), secretValues(b)
	mask := func(o *Object, vals, other map[string]string, changed string) {
		if o == nil {
			return
		}
		delete(o.Object, "stringData")
		if len(vals) == 0 {
			delete(o.Object, "data")
		} else {
			out := make(map[string]any, len(vals))
			for k, v := range vals {
				if ov, ok := other[k]; ok && ov != v {
					out[k] = changed
				} else {
					out[k] = MaskSame
				}
			}
			o.Object["data"] = out
		}
		if ann := o.GetAnnotations(); ann[LastAppliedAnnotation] != "" {
			ann[LastAppliedAnnotation] = MaskSame
			o.SetAnnotations(ann)
		}
	}
	mask(a, av, bv, MaskBefore)
	mask(b, bv, av, MaskAfter)
}

// secretValues returns data and stringData as one map (stringData wins, as
// on the server); a stringData value never equals a data value.
func secretValues(o *Object) map[string]string {
	if o == nil {
		return nil
	}
	out := map[string]string{}
	data, _ := o.Object["data"].(map[string]any)
	for k, v := range data {
		out[k] = fmt.Sprint(v)
	}
	sd, _ := o.Object["stringData"].(map[string]any)
	for k, v := range sd {
		out[k] = "s:" + fmt.Sprint(v)
	}
	return out
}

func maskContent(a, b *Object) {
	content := func(o *Object) (map[string]any, any, bool) {
		if o == nil {
			return nil, nil, false
		}
		spec, _ := o.Object["spec"].(map[string]any)
		v, ok := spec["content"]
		return spec, v, ok
	}
	as, av, aok := content(a)
	bs, bv, bok := content(b)
	switch {
	case aok && bok && fmt.Sprint(av) != fmt.Sprint(bv):
		as["content"], bs["content"] = MaskBefore, MaskAfter
	default:
		if aok {
			as["content"] = MaskSame
		}
		if bok {
			bs["content"] = MaskSame
		}
	}
}
