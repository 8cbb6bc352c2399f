package kubernetes

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestStatusPageNotOpen: the shipped Deployment never opens the status page
// to everyone who reaches the port. steward serves it to loopback clients
// only unless it holds a status token (STEWARD_STATUS_TOKEN or
// STEWARD_API_TOKEN, from the steward-env Secret) or runs with
// --status-public, which the base must not pass.
func TestStatusPageNotOpen(t *testing.T) {
	dep := find(build(t, "base"), "Deployment", "steward")
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	c := containers[0].(map[string]any)
	args, _, _ := unstructured.NestedStringSlice(c, "args")
	for _, a := range args {
		if strings.HasPrefix(a, "--status-public") {
			t.Errorf("the Deployment passes %q: the status page would be open to anyone reaching the port", a)
		}
	}
	envFrom, _, _ := unstructured.NestedSlice(c, "envFrom")
	var secrets []string
	for _, e := range envFrom {
		name, _, _ := unstructured.NestedString(e.(map[string]any), "secretRef", "name")
		secrets = append(secrets, name)
	}
	if !slices.Contains(secrets, "steward-env") {
		t.Errorf("the Deployment takes no environment from the steward-env Secret (envFrom %v): no way to set STEWARD_STATUS_TOKEN", secrets)
	}
	env, _, _ := unstructured.NestedSlice(c, "env")
	for _, e := range env {
		m := e.(map[string]any)
		if n, _ := m["name"].(string); (n == "STEWARD_STATUS_TOKEN" || n == "STEWARD_API_TOKEN") && m["value"] != nil {
			t.Errorf("the Deployment sets %s as a literal value: tokens come from Secrets", n)
		}
	}
}
