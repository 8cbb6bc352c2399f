package checks

import (
	"path"
	"reflect"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// FuzzCRDSchema feeds arbitrary documents as a CRD's openAPIV3Schema and as
// the object checked against it: compiling and validating must never panic
// or loop, and must be deterministic.
func FuzzCRDSchema(f *testing.F) {
	f.Add(`{type: object, properties: {spec: {type: object, required: [a], properties: {a: {type: string, enum: [x, y]}}}}}`,
		`{apiVersion: example.com/v1, kind: W, metadata: {name: w}, spec: {a: z, b: 1}}`)
	f.Add(`{type: object, properties: {spec: {x-kubernetes-int-or-string: true, anyOf: [{type: integer}, {type: string}], pattern: "^[0-9]+%?$"}}}`,
		`{apiVersion: example.com/v1, kind: W, metadata: {name: w}, spec: 50%}`)
	f.Add(`{type: object, properties: {spec: {type: array, uniqueItems: true, maxItems: 2, items: {type: object, x-kubernetes-preserve-unknown-fields: true}}}}`,
		`{apiVersion: example.com/v1, kind: W, metadata: {name: w}, spec: [{a: 1}, {a: 1}, {b: [2]}]}`)
	f.Add(`{type: object, oneOf: [{required: [a]}, {required: [b]}], not: {required: [c]}, properties: {a: {type: number, multipleOf: 0.5, minimum: 1, exclusiveMinimum: true}}}`,
		`{apiVersion: example.com/v1, kind: W, metadata: {name: w, labels: {a: 1}}, a: 1, b: 2}`)
	f.Add(`{type: object, x-kubernetes-validations: [{rule: "self.a < self.b", message: "a below b"}, {rule: "self.a == oldSelf.a"}], properties: {a: {type: integer}, b: {type: integer}}}`,
		`{apiVersion: example.com/v1, kind: W, metadata: {name: w}, a: 3, b: 2}`)
	f.Add(`{type: object, properties: {t: {type: object, x-kubernetes-embedded-resource: true, properties: {spec: {type: object}}}}}`,
		`{apiVersion: example.com/v1, kind: W, metadata: {name: w}, t: {apiVersion: 1, kind: K, metadata: {name: [x]}, spec: {}}}`)
	meta, err := builtins.definition(objectMetaDef)
	if err != nil {
		f.Fatal(err)
	}
	env, err := selfEnv()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, schemaDoc, objDoc string) {
		if len(schemaDoc) > 4096 || len(objDoc) > 4096 {
			return
		}
		sch, err := reconcile.DecodeObjects([]byte("{apiVersion: s/v1, kind: S, metadata: {name: s}, schema: "+schemaDoc+"}"), "schema.yaml")
		if err != nil || len(sch) != 1 {
			return
		}
		objs, err := reconcile.DecodeObjects([]byte(objDoc), "obj.yaml")
		if err != nil {
			return
		}
		s, err := compileCRDSchema(sch[0].Object["schema"], "openAPIV3Schema", &compiler{strict: true, celEnv: env, costLimit: 10_000})
		if err != nil {
			if _, ok := err.(*SchemaError); !ok {
				t.Fatalf("compile error %T is not a *SchemaError: %v", err, err)
			}
			return
		}
		for _, o := range objs {
			v1 := validator{structural: true, meta: meta}
			v1.validate(s, o.Object)
			v2 := validator{structural: true, meta: meta}
			v2.validate(s, o.Object)
			if r1, r2 := v1.result(), v2.result(); !reflect.DeepEqual(r1, r2) {
				t.Fatalf("validation is not deterministic:\n%v\n%v", r1, r2)
			}
		}
	})
}

// FuzzMatch: a rule's globs accept exactly what path.Match accepts, and a
// bad pattern is refused by New rather than failing later.
func FuzzMatch(f *testing.F) {
	f.Add("apps/*", "apps/v1")
	f.Add("Deploy[a-z]*", "Deployment")
	f.Add("[", "x")
	f.Add("kube-\\*", "kube-*")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		m, err := newMatcher(reconcile.Match{Name: pattern}, "checks[0]")
		_, werr := path.Match(pattern, s)
		if err != nil {
			if werr == nil {
				// path.Match may stop before the malformed part on a
				// mismatch; the whole-pattern check must still refuse it.
				if _, e := path.Match(pattern, ""); e == nil {
					t.Fatalf("newMatcher refused %q that path.Match accepts", pattern)
				}
			}
			return
		}
		o := &reconcile.Object{Object: map[string]any{"apiVersion": "v1", "kind": "K", "metadata": map[string]any{"name": s}}}
		want := pattern == ""
		if !want {
			want, _ = path.Match(pattern, s)
		}
		if got := m.matches("u", o); got != want {
			t.Fatalf("matches(%q, %q) = %v, path.Match says %v", pattern, s, got, want)
		}
	})
}
