package checks_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/checks"
)

// BenchmarkCheck4000 checks 4000 mixed objects (Deployments, Services,
// ConfigMaps, custom resources with and without their CRD, 10% invalid)
// with two CEL rules, and reports ns/op and objects/s of the whole stage.
//
// Side by side, in the same run, it validates the same Kubernetes objects
// one at a time against the same schemas with steward's validator and with
// k8s.io/kube-openapi's validate package (the API server's CRD validator;
// it resolves no $ref, so its schemas are inlined, and it reports no
// unknown fields), and reports steward/kube-openapi as "ratio".
func BenchmarkCheck4000(b *testing.B) {
	units := mixedUnits(b, 4000)
	rules := []reconcile.Check{
		{Name: "limits", Match: reconcile.Match{Kind: "Deployment"}, CEL: "object.spec.template.spec.containers.all(c, has(c.resources.limits))"},
		{Name: "labels", Match: reconcile.Match{Namespace: "ns"}, CEL: `!has(object.metadata.labels) || object.metadata.labels.all(k, k.size() < 64)`},
	}
	ctx := context.Background()
	full, err := checks.New(rules, checks.DefaultOptions())
	if err != nil {
		b.Fatal(err)
	}
	schemaOnly, err := checks.New(nil, checks.Options{Concurrency: 1})
	if err != nil {
		b.Fatal(err)
	}
	peer := newPeer(b, units)
	// Warm both: steward compiles schemas on first use, the peer's are
	// built by newPeer.
	if _, err := full.Check(ctx, units); err != nil {
		b.Fatal(err)
	}
	var n int
	for _, u := range units {
		n += len(u.Objects)
	}

	var stewardSeq, peerSeq time.Duration
	b.ResetTimer()
	for b.Loop() {
		rep, err := full.Check(ctx, units)
		if err != nil {
			b.Fatal(err)
		}
		if rep.OK() {
			b.Fatal("the fixture's invalid objects were not reported")
		}
		b.StopTimer()
		start := time.Now()
		if _, err := schemaOnly.Check(ctx, peer.units); err != nil {
			b.Fatal(err)
		}
		stewardSeq += time.Since(start)
		start = time.Now()
		peer.validate()
		peerSeq += time.Since(start)
		b.StartTimer()
	}
	b.StopTimer()
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(n)/perOp.Seconds(), "objects/s")
	ratio := stewardSeq.Seconds() / peerSeq.Seconds()
	b.ReportMetric(ratio, "ratio")
	b.Logf("check stage, %d objects, 2 rules, %d workers: %v per run (%.0f objects/s)", n, checks.DefaultOptions().Concurrency, perOp, float64(n)/perOp.Seconds())
	b.Logf("schema validation of %d objects, one at a time: steward %v, kube-openapi validate %v, ratio %.3f",
		peer.count(), stewardSeq/time.Duration(b.N), peerSeq/time.Duration(b.N), ratio)
}

// peer validates with k8s.io/kube-openapi's validate package.
type peer struct {
	units []checks.UnitObjects // the objects both validate
	objs  []*reconcile.Object
	vals  []*validate.SchemaValidator
}

func newPeer(b *testing.B, units []checks.UnitObjects) *peer {
	p := &peer{}
	byKind := map[string]*validate.SchemaValidator{}
	crds := map[string]*spec.Schema{}
	for _, u := range units {
		for _, o := range u.Objects {
			if o.GetKind() == "CustomResourceDefinition" {
				raw, _ := json.Marshal(o.Object["spec"].(map[string]any)["versions"].([]any)[0].(map[string]any)["schema"].(map[string]any)["openAPIV3Schema"])
				s := &spec.Schema{}
				if err := json.Unmarshal(raw, s); err != nil {
					b.Fatal(err)
				}
				crds["example.com/v1 Widget"] = s
			}
		}
	}
	var kept []*reconcile.Object
	for _, u := range units {
		for _, o := range u.Objects {
			key := o.GetAPIVersion() + " " + o.GetKind()
			v, ok := byKind[key]
			if !ok {
				s := crds[key]
				if s == nil {
					raw, err := checks.ExpandedSchema(o.GetAPIVersion(), o.GetKind())
					if err != nil {
						continue // not a built-in kind: unchecked by both
					}
					s = &spec.Schema{}
					if err := json.Unmarshal(raw, s); err != nil {
						b.Fatal(err)
					}
				}
				v = validate.NewSchemaValidator(s, nil, "", strfmt.Default)
				byKind[key] = v
			}
			p.objs = append(p.objs, o)
			p.vals = append(p.vals, v)
			kept = append(kept, o)
		}
	}
	// steward validates the same objects (plus the CRD, which it needs).
	p.units = []checks.UnitObjects{{Unit: "peer", Objects: kept}}
	return p
}

func (p *peer) validate() {
	for i, o := range p.objs {
		p.vals[i].Validate(o.Object)
	}
}

func (p *peer) count() int { return len(p.objs) }
