package kubernetes

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestBaseObjects(t *testing.T) {
	objs := build(t, "base")
	var got []string
	for _, o := range objs {
		name := o.GetName()
		if o.GetKind() == "ConfigMap" && strings.HasPrefix(name, "steward-") {
			name = "steward-HASH" // configMapGenerator's suffix
		}
		got = append(got, o.GetKind()+"/"+o.GetNamespace()+"/"+name)
	}
	sort.Strings(got)
	want := []string{
		"ClusterRole//steward:apply",
		"ClusterRole//steward:impersonate",
		"ClusterRoleBinding//steward:apply",
		"ConfigMap/steward-system/steward-HASH",
		"Deployment/steward-system/steward",
		"Namespace//steward-system",
		"Role/steward-system/steward",
		"RoleBinding/steward-system/steward",
		"Service/steward-system/steward",
		"ServiceAccount/steward-system/steward",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("base objects:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, o := range objs {
		if o.GetLabels()["app.kubernetes.io/name"] != "steward" {
			t.Errorf("%s/%s lacks the app.kubernetes.io/name label", o.GetKind(), o.GetName())
		}
	}
}

// TestRBACRules reads the rules as written: no wildcards, Secrets only in
// the Role of steward's namespace (unit outputs) and never listed or
// watched, no verb that grants more than it names.
func TestRBACRules(t *testing.T) {
	for _, o := range build(t, "base") {
		switch o.GetKind() {
		case "ClusterRoleBinding", "RoleBinding":
			if ref, _, _ := unstructured.NestedString(o.Object, "roleRef", "name"); !strings.HasPrefix(ref, "steward") {
				t.Errorf("%s %s binds %q", o.GetKind(), o.GetName(), ref)
			}
		case "ClusterRole", "Role":
			rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
			for i, r := range rules {
				rule := r.(map[string]any)
				strs := func(k string) []string {
					s, _, _ := unstructured.NestedStringSlice(rule, k)
					return s
				}
				where := fmt.Sprintf("%s %s rule %d", o.GetKind(), o.GetName(), i)
				for _, k := range []string{"apiGroups", "resources", "verbs"} {
					if slices.Contains(strs(k), "*") {
						t.Errorf("%s: wildcard in %s", where, k)
					}
				}
				if slices.Contains(strs("resources"), "secrets") {
					outputs := o.GetKind() == "Role" && o.GetNamespace() == stewardNS &&
						slices.Equal(strs("resources"), []string{"secrets"}) && slices.Equal(strs("verbs"), []string{"get", "create", "patch"})
					if !outputs {
						t.Errorf("%s grants Secrets beyond unit outputs: %v %v", where, strs("resources"), strs("verbs"))
					}
				}
				for _, v := range []string{"escalate", "bind"} {
					if slices.Contains(strs("verbs"), v) {
						t.Errorf("%s grants %s", where, v)
					}
				}
				if slices.Contains(strs("verbs"), "impersonate") &&
					(o.GetName() != "steward:impersonate" || !slices.Equal(strs("resources"), []string{"serviceaccounts"})) {
					t.Errorf("%s: impersonation beyond service accounts: %v", where, strs("resources"))
				}
				if len(strs("nonResourceURLs")) > 0 {
					t.Errorf("%s: nonResourceURLs", where)
				}
			}
		}
	}
}

// TestDeploymentFlags runs the steward binary of this checkout: every flag
// the Deployment passes to `steward run` must be one it has.
func TestDeploymentFlags(t *testing.T) {
	dep := find(build(t, "base"), "Deployment", "steward")
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	if len(args) == 0 || args[0] != "run" {
		t.Fatalf("args %q: want `run` first", args)
	}
	bin := filepath.Join(t.TempDir(), "steward")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "../../cmd/steward").CombinedOutput(); err != nil {
		t.Fatalf("go build steward: %v\n%s", err, out)
	}
	help, err := exec.CommandContext(t.Context(), bin, "run", "--help").Output()
	if err != nil {
		t.Fatalf("steward run --help: %v", err)
	}
	flagRE := regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`)
	have := map[string]bool{}
	for _, m := range flagRE.FindAllStringSubmatch(string(help), -1) {
		have[m[1]] = true
	}
	if !have["listen"] || !have["cache-dir"] {
		t.Fatalf("could not read the flags of steward run --help:\n%s", help)
	}
	for _, a := range args[1:] {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || !have[name] {
			t.Errorf("Deployment passes %q: `steward run` has no such flag", a)
		}
	}
}

// TestDeploymentHardening checks what the API server does not: the mounts a
// read-only root file system needs and the probe paths steward serves.
func TestDeploymentHardening(t *testing.T) {
	dep := find(build(t, "base"), "Deployment", "steward")
	pod, _, _ := unstructured.NestedMap(dep.Object, "spec", "template", "spec")
	containers, _, _ := unstructured.NestedSlice(pod, "containers")
	c := containers[0].(map[string]any)
	str := func(m map[string]any, path ...string) string {
		v, _, _ := unstructured.NestedFieldNoCopy(m, path...)
		return fmt.Sprint(v)
	}
	for _, tc := range []struct {
		path []string
		want string
	}{
		{[]string{"securityContext", "readOnlyRootFilesystem"}, "true"},
		{[]string{"securityContext", "allowPrivilegeEscalation"}, "false"},
		{[]string{"securityContext", "capabilities", "drop"}, "[ALL]"},
		{[]string{"livenessProbe", "httpGet", "path"}, "/healthz"},
		{[]string{"readinessProbe", "httpGet", "path"}, "/readyz"},
		{[]string{"resources", "limits", "memory"}, "1Gi"},
		{[]string{"ports"}, "[map[containerPort:8080 name:http protocol:TCP]]"},
	} {
		if got := str(c, tc.path...); got != tc.want {
			t.Errorf("container %s = %q, want %q", strings.Join(tc.path, "."), got, tc.want)
		}
	}
	// The Go runtime's soft memory limit is the container's memory limit.
	env, _, _ := unstructured.NestedSlice(c, "env")
	memLimit := ""
	for _, e := range env {
		if em := e.(map[string]any); em["name"] == "GOMEMLIMIT" {
			memLimit = str(em, "valueFrom", "resourceFieldRef", "resource")
		}
	}
	if memLimit != "limits.memory" {
		t.Errorf("GOMEMLIMIT from %q, want the container's limits.memory", memLimit)
	}
	// Command generators read decrypted SOPS files from $XDG_RUNTIME_DIR,
	// which must be memory-backed.
	runtimeDir := ""
	for _, e := range env {
		if em := e.(map[string]any); em["name"] == "XDG_RUNTIME_DIR" {
			runtimeDir = str(em, "value")
		}
	}
	if got := str(pod, "securityContext", "runAsNonRoot"); got != "true" {
		t.Errorf("pod runAsNonRoot = %q", got)
	}
	volumes, _, _ := unstructured.NestedSlice(pod, "volumes")
	kinds := map[string]string{}
	for _, v := range volumes {
		vm := v.(map[string]any)
		for k := range vm {
			if k != "name" {
				kinds[vm["name"].(string)] = k
			}
		}
	}
	mounts, _, _ := unstructured.NestedSlice(c, "volumeMounts")
	mounted := map[string]string{}
	for _, m := range mounts {
		mm := m.(map[string]any)
		mounted[mm["mountPath"].(string)] = kinds[mm["name"].(string)]
	}
	if runtimeDir == "" || mounted[runtimeDir] != "emptyDir" {
		t.Errorf("XDG_RUNTIME_DIR %q: not an emptyDir mount", runtimeDir)
	}
	for _, v := range volumes {
		if vm := v.(map[string]any); vm["name"] == "runtime" && str(vm, "emptyDir", "medium") != "Memory" {
			t.Errorf("the runtime volume is not memory-backed: %v", vm)
		}
	}
	for path, kind := range map[string]string{
		"/tmp": "emptyDir", "/var/cache/steward": "emptyDir", "/home/nonroot": "emptyDir",
		"/etc/steward/credentials": "secret", "/etc/steward/known_hosts": "secret", "/etc/steward/git": "secret",
	} {
		if mounted[path] != kind {
			t.Errorf("%s: mounted from %q, want %s", path, mounted[path], kind)
		}
	}
}

// TestComponents builds the base with both optional components and checks
// they point at what the base serves.
func TestComponents(t *testing.T) {
	objs := build(t, "testdata/all")
	svc := find(objs, "Service", "steward")
	sm := find(objs, "ServiceMonitor", "steward")
	ing := find(objs, "Ingress", "steward-webhooks")
	if svc == nil || sm == nil || ing == nil {
		t.Fatalf("testdata/all lacks the Service, ServiceMonitor or Ingress (%d objects)", len(objs))
	}
	sel, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	for k, v := range sel {
		if svc.GetLabels()[k] != v {
			t.Errorf("ServiceMonitor selects %s=%s; the Service has %q", k, v, svc.GetLabels()[k])
		}
	}
	ports, _, _ := unstructured.NestedSlice(svc.Object, "spec", "ports")
	portName := ports[0].(map[string]any)["name"]
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if ep := eps[0].(map[string]any); ep["port"] != portName || ep["path"] != "/metrics" {
		t.Errorf("ServiceMonitor endpoint %v, want port %v path /metrics", ep, portName)
	}
	rules, _, _ := unstructured.NestedSlice(ing.Object, "spec", "rules")
	paths, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "http", "paths")
	if len(paths) != 1 {
		t.Fatalf("Ingress routes %d paths, want /hooks/ only", len(paths))
	}
	p := paths[0].(map[string]any)
	backend, _, _ := unstructured.NestedString(p, "backend", "service", "name")
	bport, _, _ := unstructured.NestedString(p, "backend", "service", "port", "name")
	if p["path"] != "/hooks/" || backend != svc.GetName() || bport != portName {
		t.Errorf("Ingress path %v -> %s:%s, want /hooks/ -> %s:%v", p["path"], backend, bport, svc.GetName(), portName)
	}
}
