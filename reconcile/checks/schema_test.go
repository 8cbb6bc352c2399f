package checks

import (
	"strings"
	"testing"
)

func TestSchema(t *testing.T) {
	tests := []struct {
		name          string
		files         []string
		want          []string
		wantUnchecked []string
	}{
		{name: "valid deployment, service and secret", files: []string{"deployment-valid.yaml"}},
		{name: "unknown fields", files: []string{"deployment-unknown-field.yaml"}, want: []string{
			"unit deployment-unknown-field: apps/Deployment/shop/web: rule schema: spec.replica: unknown field",
			"unit deployment-unknown-field: apps/Deployment/shop/web: rule schema: spec.template.spec.containers[0].imagee: unknown field",
		}},
		{name: "wrong types", files: []string{"deployment-wrong-type.yaml"}, want: []string{
			"unit deployment-wrong-type: apps/Deployment/shop/web: rule schema: metadata.labels[tier]: expected string, got integer",
			"unit deployment-wrong-type: apps/Deployment/shop/web: rule schema: spec.replicas: expected integer, got string",
			"unit deployment-wrong-type: apps/Deployment/shop/web: rule schema: spec.template.spec.containers[0].args: expected array, got string",
			"unit deployment-wrong-type: apps/Deployment/shop/web: rule schema: spec.template.spec.hostNetwork: expected boolean, got string",
		}},
		{name: "missing required containers", files: []string{"deployment-missing-containers.yaml"}, want: []string{
			"unit deployment-missing-containers: apps/Deployment/shop/web: rule schema: spec.template.spec.containers: required field is missing",
		}},
		{name: "bad port types and quantity", files: []string{"deployment-bad-port.yaml"}, want: []string{
			"unit deployment-bad-port: apps/Deployment/shop/web: rule schema: spec.template.spec.containers[0].ports[0].containerPort: expected integer, got string",
			"unit deployment-bad-port: apps/Deployment/shop/web: rule schema: spec.template.spec.containers[0].ports[1].containerPort: 4294967296 overflows int32",
			"unit deployment-bad-port: apps/Deployment/shop/web: rule schema: spec.template.spec.containers[0].ports[2].hostPort: expected integer, got number",
			`unit deployment-bad-port: apps/Deployment/shop/web: rule schema: spec.template.spec.containers[0].resources.limits[cpu]: "lots" is not a quantity (e.g. 500m, 1Gi)`,
		}},
		{name: "unknown kinds of built-in groups", files: []string{"unknown-kind.yaml"}, want: []string{
			"unit unknown-kind: apps/Deployment/shop/older: rule schema: apps/v1beta2 Deployment is not a kind of Kubernetes v1.37.0 (served as apps/v1)",
			"unit unknown-kind: apps/Foo/shop/foo: rule schema: apps/v1 Foo is not a kind of Kubernetes v1.37.0",
			"unit unknown-kind: extensions/Deployment/shop/old: rule schema: extensions/v1beta1 Deployment is not a kind of Kubernetes v1.37.0 (served as apps/v1)",
		}},
		{name: "secret values are not quoted", files: []string{"secret-bad.yaml"}, want: []string{
			"unit secret-bad: Secret/shop/db: rule schema: data[password]: not valid base64",
			"unit secret-bad: Secret/shop/db: rule schema: stringData[token]: expected string, got integer",
		}},
		{name: "int-or-string, null and unknown metadata fields", files: []string{"service-bad.yaml"}, want: []string{
			"unit service-bad: Service/shop/web: rule schema: metadata.lables: unknown field",
			"unit service-bad: Service/shop/web: rule schema: spec.ports[0].targetPort: expected integer or string, got boolean",
			"unit service-bad: Service/shop/web: rule schema: spec.ports[1].port: required field is missing",
		}},
		{name: "custom resources valid against their CRD", files: []string{"crd-widget.yaml", "widget-valid.yaml"}},
		{name: "custom resources invalid against their CRD", files: []string{"crd-widget.yaml", "widget-invalid.yaml"}, want: []string{
			"unit widget-invalid: example.com/Widget/shop/bad: rule schema: metadata.labels[team]: expected string, got integer",
			"unit widget-invalid: example.com/Widget/shop/bad: rule schema: spec: small and medium widgets run at most 5 replicas",
			"unit widget-invalid: example.com/Widget/shop/bad: rule schema: spec.colour: unknown field",
			"unit widget-invalid: example.com/Widget/shop/bad: rule schema: spec.labels[x]: expected string, got integer",
			`unit widget-invalid: example.com/Widget/shop/bad: rule schema: spec.name: "Gizmo-Deluxe" does not match pattern "^[a-z]+$"`,
			"unit widget-invalid: example.com/Widget/shop/bad: rule schema: spec.name: must be at most 8 characters long",
			`unit widget-invalid: example.com/Widget/shop/bad: rule schema: spec.owner: "not-an-email" is not a valid email`,
			"unit widget-invalid: example.com/Widget/shop/bad: rule schema: spec.port: expected integer or string, got number",
			"unit widget-invalid: example.com/Widget/shop/bad: rule schema: spec.replicas: must be less than or equal to 10",
			`unit widget-invalid: example.com/Widget/shop/bad: rule schema: spec.size: unsupported value "huge": supported values: "small", "medium", "large"`,
			"unit widget-invalid: example.com/Widget/shop/bad: rule schema: spec.tags: must have at most 3 items",
			"unit widget-invalid: example.com/Widget/shop/bad: rule schema: spec.tags[1]: duplicate of item 0",
			"unit widget-invalid: example.com/Widget/shop/future: rule schema: apiVersion: version v2 of Widget is not defined by CustomResourceDefinition widgets.example.com",
			"unit widget-invalid: example.com/Widget/shop/nosize: rule schema: spec.size: required field is missing",
			"unit widget-invalid: example.com/Widget/shop/old: rule schema: apiVersion: version v1beta1 of Widget is not served by CustomResourceDefinition widgets.example.com",
			"unit widget-invalid: example.com/Widget/shop/rules: rule schema: spec: failed rule: !has(self.tags) || self.tags.all(t, t.size() <= 3)",
			"unit widget-invalid: example.com/Widget/shop/rules: rule schema: spec: small and medium widgets run at most 5 replicas",
		}},
		{name: "custom resources without their CRD", files: []string{"gadget-no-crd.yaml", "widget-valid.yaml"}, wantUnchecked: []string{
			"unit gadget-no-crd: cert-manager.io/Certificate/shop/tls: no schema: CRD not in this revision",
			"unit gadget-no-crd: example.com/Gadget/shop/g1: no schema: CRD not in this revision",
			"unit widget-valid: example.com/Widget/shop/w1: no schema: CRD not in this revision",
			"unit widget-valid: example.com/Widget/shop/w2: no schema: CRD not in this revision",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := run(t, nil, Options{}, tt.files...)
			diffLines(t, "failures", failureStrings(rep), tt.want)
			diffLines(t, "unchecked", uncheckedStrings(rep), tt.wantUnchecked)
			for _, f := range rep.Failures {
				if strings.Contains(f.Message, "hunter2") {
					t.Errorf("secret value in failure: %s", f)
				}
			}
		})
	}
}

// TestSchemaCRDBroken: a CRD whose schema cannot be compiled fails its own
// check and leaves its custom resources unchecked, naming why.
func TestSchemaCRDBroken(t *testing.T) {
	rep := run(t, nil, Options{}, "crd-broken.yaml")
	diffLines(t, "failures", failureStrings(rep), []string{
		"unit crd-broken: apiextensions.k8s.io/CustomResourceDefinition/things.example.com: rule schema: spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[size].type: expected string, got integer",
	})
	diffLines(t, "unchecked", uncheckedStrings(rep), []string{
		"unit crd-broken: example.com/Thing/t: no schema: CustomResourceDefinition things.example.com: spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[size].type: unknown type 5",
	})
}

// TestSchemaProblemCap: an object with very many problems reports the first
// ones in field order and a count of the rest.
func TestSchemaProblemCap(t *testing.T) {
	rep := run(t, nil, Options{}, "too-many.yaml")
	if len(rep.Failures) != maxFieldErrors+1 {
		t.Fatalf("%d failures, want %d", len(rep.Failures), maxFieldErrors+1)
	}
	// The summary has no field, so it sorts first.
	if f := rep.Failures[0]; f.Field != "" || f.Message != "10 more problems not reported" {
		t.Errorf("summary failure %s", f)
	}
	if f := rep.Failures[1]; f.Field != "data[k00]" {
		t.Errorf("first failure %s, want data[k00]", f)
	}
	if f := rep.Failures[maxFieldErrors]; f.Field != "data[k49]" {
		t.Errorf("last reported failure %s, want data[k49]", f)
	}
}
