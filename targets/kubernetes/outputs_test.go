package kubernetes

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/stewardhq/steward/generators/yaml"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/sources/git"
	"github.com/stewardhq/steward/targets/machine/local"
)

// These tests carry values from the testenv kube-apiserver into machine
// Files through the reconciler: git, the yaml generator, this package's
// target and the local machine target, all real.

const flowStack = `apiVersion: steward.dev/v1
kind: Stack
targets:
  kube: {kubernetes: {namespace: NS}}
  edge: {local: {root: edge}}
units:
  - name: svc
    path: svc
    generator: {yaml: {}}
    target: kube
    outputs:
      ip: {jsonPath: {object: Service/db, path: .spec.clusterIP}, example: 10.0.0.1}
      token: {jsonPath: {object: Secret/creds, path: .data.token}}
  - name: conf
    path: conf
    generator: {yaml: {}}
    target: edge
    dependsOn: [svc]
    inputs: {dbHost: svc.ip, token: svc.token}
`

const flowService = `apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {token: s3cr3t-token-value}
`

const flowFile = `apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: conf}
spec:
  path: /etc/app.conf
  template: true
  content: "host={{.Inputs.dbHost}} token={{.Inputs.token}}\n"
`

type events struct {
	mu    sync.Mutex
	units []reconcile.UnitEvent
}

func (e *events) SourceChecked(reconcile.SourceEvent) {}
func (e *events) UnitReconciled(ev reconcile.UnitEvent) {
	e.mu.Lock()
	e.units = append(e.units, ev)
	e.mu.Unlock()
}
func (e *events) PassCompleted(reconcile.PassEvent) {}

type flow struct {
	t    *testing.T
	ns   string
	root string
	r    *reconcile.Reconciler
	ev   *events
	logs *bytes.Buffer
	core corev1client.CoreV1Interface
}

func gitRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "initial"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

func newFlow(t *testing.T, stack string) *flow {
	t.Helper()
	env := shared.Get(t)
	f := &flow{t: t, ns: env.Namespace(t), root: t.TempDir(), ev: &events{}, logs: &bytes.Buffer{}}
	core, err := corev1client.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	f.core = core
	repo := gitRepo(t, map[string]string{
		"steward.yaml": strings.ReplaceAll(stack, "NS", f.ns),
		"svc/svc.yaml": flowService,
		"conf/f.yaml":  flowFile,
	})
	sopts := git.DefaultSourceOptions()
	sopts.URL = "file://" + repo
	sopts.CacheDir = t.TempDir()
	src, err := git.NewSource(sopts)
	if err != nil {
		t.Fatal(err)
	}
	kt := testTarget(t, env.Config)
	kt.opts.InventoryNamespace, kt.opts.Namespace = f.ns, f.ns // as cmd sets the stack target's namespace
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: f.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := reconcile.DefaultReconcilerOptions()
	opts.Source = src
	opts.Logger = logger
	opts.Observer = f.ev
	opts.Stages.Renderer = reconcile.NewRenderer(withGenerators(func(u *reconcile.Unit) (reconcile.Generator, error) {
		return yaml.New(u.Generator.YAML), nil
	}))
	opts.Targets = func(_ context.Context, name string, spec reconcile.TargetSpec) (reconcile.Target, error) {
		if spec.Kubernetes != nil {
			return kt, nil
		}
		return local.NewTarget(name, filepath.Join(f.root, name), logger), nil
	}
	f.r = reconcile.NewReconciler(opts)
	return f
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (f *flow) pass(req reconcile.PassRequest) *reconcile.PassResult {
	f.t.Helper()
	res, err := f.r.Pass(context.Background(), req)
	if err != nil {
		f.t.Fatalf("pass: %v", err)
	}
	return res
}

func (f *flow) event(res *reconcile.PassResult, unit string) *reconcile.UnitEvent {
	for i := range res.Events {
		if res.Events[i].Unit.Name == unit {
			return &res.Events[i]
		}
	}
	return nil
}

func (f *flow) file() string {
	b, err := os.ReadFile(filepath.Join(f.root, "edge", "etc/app.conf"))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func (f *flow) clusterIP() string {
	f.t.Helper()
	svc, err := f.core.Services(f.ns).Get(context.Background(), "db", metav1.GetOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	return svc.Spec.ClusterIP
}

// A Service's clusterIP, read from the live object after apply, lands in a
// machine File on another target; when the Service is replaced out of band
// (no new revision) and applied again, the File follows in the same pass,
// saying why. The Secret's token reaches the File but no diff, event, log
// or status.
func TestOutputsServiceIPIntoMachineFile(t *testing.T) {
	f := newFlow(t, flowStack)
	res := f.pass(reconcile.PassRequest{})
	for _, u := range []string{"svc", "conf"} {
		if ev := f.event(res, u); ev == nil || ev.State != reconcile.StateReady {
			t.Fatalf("%s: %+v", u, ev)
		}
	}
	ip := f.clusterIP()
	if net.ParseIP(ip) == nil {
		t.Fatalf("clusterIP %q", ip)
	}
	if got, want := f.file(), "host="+ip+" token=s3cr3t-token-value\n"; got != want {
		t.Fatalf("file = %q, want %q", got, want)
	}
	outs := f.r.Outputs("svc")
	if outs["ip"].Value != ip || outs["ip"].Sensitive || outs["ip"].Shown() != ip {
		t.Errorf("ip output: %+v", outs["ip"])
	}
	if tok := outs["token"]; !tok.Sensitive || tok.Shown() != reconcile.MaskSame {
		t.Errorf("a Secret's key is not masked: sensitive %v", tok.Sensitive)
	}
	// Kept on the cluster beside the inventory, in a Secret.
	stored, err := f.core.Secrets(f.ns).Get(context.Background(), "outputs-svc", metav1.GetOptions{})
	if err != nil || !strings.Contains(string(stored.Data["outputs.json"]), ip) {
		t.Fatalf("stored outputs: %v", err)
	}
	// Owned by the unit's inventory: the garbage collector deletes it with
	// the inventory when the unit leaves the stack.
	inv, err := f.core.ConfigMaps(f.ns).Get(context.Background(), "unit-svc", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if refs := stored.OwnerReferences; len(refs) != 1 || refs[0].Kind != "ConfigMap" || refs[0].Name != "unit-svc" || refs[0].UID != inv.UID {
		t.Fatalf("outputs Secret owners %+v, want the inventory ConfigMap %s", refs, inv.UID)
	}

	// Replace the Service with another clusterIP, out of band.
	if err := f.core.Services(f.ns).Delete(context.Background(), "db", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	newIP := recreateWithOtherIP(t, f, ip)
	res = f.pass(reconcile.PassRequest{Units: []string{"svc"}, Manual: true})
	conf := f.event(res, "conf")
	if conf == nil || conf.State != reconcile.StateReady || conf.Reason != "input svc.ip changed" {
		t.Fatalf("conf after the Service changed: %+v", conf)
	}
	if got, want := f.file(), "host="+newIP+" token=s3cr3t-token-value\n"; got != want {
		t.Errorf("file = %q, want %q", got, want)
	}

	// The token never reaches a diff, an event or a log line.
	for _, ev := range f.ev.units {
		if strings.Contains(fmt.Sprintf("%+v", ev), "s3cr3t") {
			t.Errorf("event holds the token: %s %s", ev.Unit.Name, ev.Reason)
		}
		if ev.ChangeSet != nil {
			for _, c := range ev.ChangeSet.Changes {
				if strings.Contains(c.Diff, "s3cr3t") || strings.Contains(c.Message, "s3cr3t") {
					t.Errorf("change of %s shows the token: %s", c.Object, c.Diff)
				}
			}
		}
	}
	if strings.Contains(f.logs.String(), "s3cr3t") {
		t.Errorf("logs hold the token")
	}
}

// recreateWithOtherIP creates Service db again with a clusterIP other than
// old (the next free one), as an operator replacing it would.
func recreateWithOtherIP(t *testing.T, f *flow, old string) string {
	t.Helper()
	ip := net.ParseIP(old).To4()
	for i := 1; i < 50; i++ {
		next := net.IPv4(ip[0], ip[1], ip[2], byte((int(ip[3])+i)%250+2)).String()
		if next == old {
			continue
		}
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: f.ns},
			Spec: corev1.ServiceSpec{ClusterIP: next, Ports: []corev1.ServicePort{{Port: 5432}}}}
		_, err := f.core.Services(f.ns).Create(context.Background(), svc, metav1.CreateOptions{})
		if err == nil {
			return next
		}
		if !apierrors.IsInvalid(err) && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	t.Fatal("no free clusterIP near " + old)
	return ""
}

// A JSONPath that matches nothing (a ClusterIP Service has no load balancer
// ingress) fails the unit naming the output; its consumer is blocked, and
// the File is never written with an empty value.
func TestOutputJSONPathMatchesNothing(t *testing.T) {
	f := newFlow(t, strings.Replace(flowStack, "path: .spec.clusterIP", "path: '.status.loadBalancer.ingress[0].ip'", 1))
	res := f.pass(reconcile.PassRequest{})
	svc, conf := f.event(res, "svc"), f.event(res, "conf")
	if svc == nil || svc.State != reconcile.StateFailed || !strings.Contains(svc.Err.Error(), "output svc.ip: jsonPath .status.loadBalancer.ingress[0].ip: matches nothing") {
		t.Fatalf("svc: %+v", svc)
	}
	if conf == nil || conf.State != reconcile.StateBlocked || !strings.Contains(conf.Reason, "svc") {
		t.Fatalf("conf: %+v", conf)
	}
	if got := f.file(); !strings.HasPrefix(got, "<") {
		t.Errorf("file written: %q", got)
	}
}

// An output may only read an object its unit applied.
func TestOutputObjectNotApplied(t *testing.T) {
	f := newFlow(t, strings.Replace(flowStack, "object: Service/db", "object: Service/kubernetes, namespace: default", 1))
	res := f.pass(reconcile.PassRequest{})
	if svc := f.event(res, "svc"); svc == nil || svc.State != reconcile.StateFailed || !strings.Contains(svc.Err.Error(), "is not an object unit svc applied") {
		t.Fatalf("svc: %+v", svc)
	}
}

// withGenerators is the default render options with gens as generators.
func withGenerators(gens func(*reconcile.Unit) (reconcile.Generator, error)) reconcile.RenderOptions {
	o := reconcile.DefaultRenderOptions()
	o.Generators = gens
	return o
}
