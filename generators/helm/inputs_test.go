package helm_test

import (
	"context"
	"testing"

	"github.com/stewardhq/steward/generators/helm"
	"github.com/stewardhq/steward/reconcile"
)

// Inputs are helm values under inputs, over the chart's defaults.
func TestGenerateInputs(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inputs reconcile.Inputs
		want   string
	}{
		{"default", nil, "localhost"},
		{"input", reconcile.Inputs{"dbHost": {Value: "10.0.0.5"}}, "10.0.0.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := request(t, "inputs", "app", &reconcile.Unit{Name: "app", Namespace: "shop"})
			req.Inputs = tc.inputs
			objs, err := helm.New(&reconcile.HelmGenerator{Chart: "."}).Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 1 {
				t.Fatalf("%d objects", len(objs))
			}
			if got := objs[0].Object["data"].(map[string]any)["dbHost"]; got != tc.want {
				t.Errorf("dbHost = %v, want %s", got, tc.want)
			}
		})
	}
}
