package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Steady state without requests. Re-applying an object changes nothing when
// (1) steward sends exactly what it sent last time, and (2) the fields
// steward manages hold exactly what the server stored after that apply:
// same set of fields (managedFields of the field manager) and same values.
// Another writer that changes one of those fields either takes its ownership
// (update) or changes its value, so (2) fails and the object goes to a
// dry-run. Status and fields steward does not manage are not compared, so a
// controller updating status does not cost a request.
//
// The inventory keeps both fingerprints per object; the live view (one LIST
// per kind and namespace) provides the current managed fields.

// desiredFingerprint hashes the object as steward sends it, with the force
// choice that changes how it is sent.
func desiredFingerprint(obj *unstructured.Unstructured, force bool) string {
	b, err := json.Marshal(obj.Object) // map keys sorted: canonical
	if err != nil {
		return ""
	}
	h := sha256.New()
	h.Write(b)
	if force {
		h.Write([]byte{1})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// liveFingerprint hashes the fields manager owns by apply in live and their
// values, or returns "" when that cannot be determined (no such entry, an
// entry for another API version, fields it cannot follow).
func liveFingerprint(live *unstructured.Unstructured, manager string) string {
	var mine *metav1.ManagedFieldsEntry
	mf := live.GetManagedFields()
	for i := range mf {
		e := &mf[i]
		if e.Manager == manager && e.Operation == metav1.ManagedFieldsOperationApply && e.Subresource == "" {
			if mine != nil {
				return "" // two entries: unusual, let the server decide
			}
			mine = e
		}
	}
	if mine == nil || mine.FieldsV1 == nil || mine.APIVersion != live.GetAPIVersion() {
		return ""
	}
	var fields map[string]any
	if err := json.Unmarshal(mine.FieldsV1.Raw, &fields); err != nil {
		return ""
	}
	projected, ok := project(live.Object, fields)
	if !ok {
		return ""
	}
	b, err := json.Marshal(map[string]any{"fields": fields, "values": projected})
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// project returns the parts of value that the fieldsV1 set fields selects,
// keyed like fields. ok is false when value does not have the shape fields
// describes.
func project(value any, fields map[string]any) (any, bool) {
	out := make(map[string]any, len(fields))
	for key, sub := range fields {
		if key == "." {
			continue
		}
		child, ok := selectChild(value, key)
		if !ok {
			return nil, false
		}
		subFields, _ := sub.(map[string]any)
		if len(subFields) == 0 || child == nil {
			out[key] = child // a leaf: the whole value
			continue
		}
		p, ok := project(child, subFields)
		if !ok {
			return nil, false
		}
		out[key] = p
	}
	return out, true
}

// selectChild follows one fieldsV1 path element (f:, k:, v:, i:). A member
// steward owns but the live object lacks is not ok: the server stored it in
// another form (a Secret's stringData becomes data), so only a dry-run can
// tell whether it drifted.
func selectChild(value any, key string) (any, bool) {
	prefix, rest, found := strings.Cut(key, ":")
	if !found {
		return nil, false
	}
	switch prefix {
	case "f":
		m, ok := value.(map[string]any)
		if !ok {
			return nil, false
		}
		v, ok := m[rest]
		return v, ok
	case "k":
		var want map[string]any
		if err := json.Unmarshal([]byte(rest), &want); err != nil {
			return nil, false
		}
		list, ok := value.([]any)
		if !ok {
			return nil, value == nil
		}
		for _, item := range list {
			m, ok := item.(map[string]any)
			if ok && matchesKey(m, want) {
				return item, true
			}
		}
		return nil, true
	case "v":
		list, ok := value.([]any)
		if !ok {
			return nil, value == nil
		}
		for _, item := range list {
			if jsonEqual(item, rest) {
				return item, true
			}
		}
		return nil, true
	case "i":
		n, err := strconv.Atoi(rest)
		list, ok := value.([]any)
		if err != nil || !ok || n < 0 {
			return nil, false
		}
		if n >= len(list) {
			return nil, true
		}
		return list[n], true
	}
	return nil, false
}

func matchesKey(item, want map[string]any) bool {
	for k, v := range want {
		b, err := json.Marshal(v)
		if err != nil || !jsonEqual(item[k], string(b)) {
			return false
		}
	}
	return true
}

// jsonEqual compares a decoded value with a JSON text (numbers decode as
// int64 in unstructured objects and float64 here, so compare encodings).
func jsonEqual(v any, text string) bool {
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	var a, c any
	if json.Unmarshal(b, &a) != nil || json.Unmarshal([]byte(text), &c) != nil {
		return false
	}
	ab, _ := json.Marshal(a)
	cb, _ := json.Marshal(c)
	return string(ab) == string(cb)
}
