package checks

import (
	"bytes"
	"github.com/stewardhq/steward/deploy/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile/checks/internal/schemaset"
)

// TestEmbeddedSchemasCurrent rebuilds the embedded schema set from the
// k8s.io/kubernetes module of the embedded version when the module cache has
// it (it is not a dependency, so it may not) and requires identical bytes:
// the checked-in file is what `go generate` makes.
func TestEmbeddedSchemasCurrent(t *testing.T) {
	version := KubernetesVersion()
	if version == "" {
		t.Fatal("embedded schemas have no version")
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		testenv.Missing(t, "go env GOMODCACHE: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "k8s.io", "kubernetes@"+version, "api", "openapi-spec", "v3")
	if _, err := os.Stat(dir); err != nil {
		testenv.Missing(t, "k8s.io/kubernetes@%s is not in the module cache (make testenv downloads it)", version)
	}
	got, err := schemaset.Build(dir, version)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, schemasGz) {
		t.Fatalf("schemas.json.gz is stale: go generate ./reconcile/checks (built %d bytes, embedded %d)", len(got), len(schemasGz))
	}
}

// TestEmbeddedSchemasCover checks a sample of kinds every cluster uses are
// embedded and compile, and that removed versions are not.
func TestEmbeddedSchemasCover(t *testing.T) {
	for _, k := range []string{
		"v1 Pod", "v1 Service", "v1 ConfigMap", "v1 Secret", "v1 Namespace", "v1 ServiceAccount",
		"apps/v1 Deployment", "apps/v1 StatefulSet", "apps/v1 DaemonSet", "batch/v1 CronJob", "batch/v1 Job",
		"networking.k8s.io/v1 Ingress", "networking.k8s.io/v1 NetworkPolicy", "rbac.authorization.k8s.io/v1 ClusterRole",
		"policy/v1 PodDisruptionBudget", "autoscaling/v2 HorizontalPodAutoscaler",
		"apiextensions.k8s.io/v1 CustomResourceDefinition", "admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration",
	} {
		av, kind, _ := strings.Cut(k, " ")
		s, known, err := builtins.lookup(av, kind)
		if err != nil || s == nil || !known {
			t.Errorf("%s: schema %v, known %v, err %v", k, s != nil, known, err)
		}
	}
	for _, k := range []string{"extensions/v1beta1 Ingress", "apps/v1beta1 Deployment", "policy/v1beta1 PodSecurityPolicy", "batch/v1beta1 CronJob"} {
		av, kind, _ := strings.Cut(k, " ")
		s, known, err := builtins.lookup(av, kind)
		if err != nil || s != nil || !known {
			t.Errorf("%s (removed): schema %v, known %v, err %v; want no schema, known group", k, s != nil, known, err)
		}
	}
}
