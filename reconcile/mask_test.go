package reconcile_test

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

func decodeOne(t *testing.T, s string) *reconcile.Object {
	t.Helper()
	if s == "" {
		return nil
	}
	objs, err := reconcile.DecodeObjects([]byte(s), "x.yaml")
	if err != nil || len(objs) != 1 {
		t.Fatalf("decode %q: %v", s, err)
	}
	return objs[0]
}

func TestMaskPair(t *testing.T) {
	secret := func(extra string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: s, annotations: {kubectl.kubernetes.io/last-applied-configuration: '{\"pw\":\"hunter2\"}'}}\n" + extra
	}
	file := func(sensitive bool, content string) string {
		s := "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: key}\nspec: {path: /etc/key, content: " + content
		if sensitive {
			s += ", sensitive: true"
		}
		return s + "}\n"
	}
	tests := []struct {
		name          string
		before, after string
		want          []string // in the masked pair's YAML
		hidden        []string // nowhere in it
	}{
		{"secret changed", secret("stringData: {pw: hunter2, user: admin}"), secret("data: {pw: aHVudGVyMw==, user: YWRtaW4=}"),
			[]string{"pw: '*** (before)'", "pw: '*** (after)'", "user: '*** (before)'", "last-applied-configuration: '***'"},
			[]string{"hunter2", "aHVudGVyMw", "admin", "YWRtaW4", "stringData"}},
		{"secret unchanged", secret("data: {pw: aHVudGVyMg==}"), secret("data: {pw: aHVudGVyMg==}"),
			[]string{"pw: '***'"}, []string{"aHVudGVyMg", "(before)"}},
		{"secret created", "", secret("stringData: {pw: hunter2}"), []string{"pw: '***'"}, []string{"hunter2"}},
		{"sensitive file changed", file(true, "hunter2"), file(true, "hunter3"),
			[]string{"content: '*** (before)'", "content: '*** (after)'"}, []string{"hunter2", "hunter3"}},
		{"file turned sensitive", file(false, "hunter2"), file(true, "hunter3"),
			[]string{"content: '*** (before)'"}, []string{"hunter2", "hunter3"}},
		{"sensitive file deleted", file(true, "hunter2"), "", []string{"content: '***'"}, []string{"hunter2"}},
		{"plain file", file(false, "hello"), file(false, "world"), []string{"content: hello", "content: world"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, after := decodeOne(t, tt.before), decodeOne(t, tt.after)
			mb, ma := reconcile.MaskPair(before, after)
			var text strings.Builder
			for _, o := range []*reconcile.Object{mb, ma} {
				if o != nil {
					b, err := reconcile.MarshalObject(o)
					if err != nil {
						t.Fatal(err)
					}
					text.Write(b)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(text.String(), w) {
					t.Errorf("lacks %q:\n%s", w, text.String())
				}
			}
			for _, h := range tt.hidden {
				if strings.Contains(text.String(), h) {
					t.Errorf("shows %q:\n%s", h, text.String())
				}
			}
			// The inputs are never changed in place.
			if before != nil && tt.before != "" {
				if b, _ := reconcile.MarshalObject(before); strings.Contains(string(b), "***") {
					t.Errorf("before was masked in place")
				}
			}
		})
	}
}
