package examples

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/stewardhq/steward/deploy/testenv"
	"github.com/stewardhq/steward/deploy/testenv/kube"
	testregistry "github.com/stewardhq/steward/deploy/testenv/registry"
	"github.com/stewardhq/steward/deploy/testenv/sshd"
)

// startKube starts a kube-apiserver for one test.
func startKube(t *testing.T) *kube.Env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	env, err := kube.Start(ctx, kube.DefaultOptions())
	if errors.Is(err, kube.ErrMissing) {
		testenv.Missing(t, "%v", err)
	}
	if err != nil {
		t.Fatalf("start kube-apiserver: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(env.LogTail(30))
		}
		env.Stop()
	})
	return env
}

// kubeconfigWithContext writes env's kubeconfig with its context renamed:
// how an operator points a stack's `credentials:` at a cluster of theirs.
func kubeconfigWithContext(t *testing.T, env *kube.Env, name string) string {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(env.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Contexts[name] = cfg.Contexts[cfg.CurrentContext]
	delete(cfg.Contexts, cfg.CurrentContext)
	cfg.CurrentContext = name
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// stewardRun runs the steward binary and returns its exit code and output.
func stewardRun(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	case err != nil:
		t.Fatal(err)
	}
	return 0, string(out)
}

// TestMixedStack applies examples/mixed as its README says to: the
// database host is an sshd test host (apt and systemd replaced by
// recording stand-ins, pg_isready answering once the stand-in started
// PostgreSQL), the cluster a testenv kube-apiserver reached through a
// kubeconfig context named as the stack names it, and the image policy's
// repository one on the testenv registry.
func TestMixedStack(t *testing.T) {
	host := startShimHosts(t, 1)[0]
	env := startKube(t)
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushAt(t, "shop/app", "1.4.2", time.Now().Add(-48*time.Hour))
	reg.PushAt(t, "shop/app", "1.5.0", time.Now().Add(-time.Hour))
	reg.PushAt(t, "shop/app", "2.0.0", time.Now().Add(-time.Hour))
	steward := buildSteward(t)
	ns := env.Namespace(t)
	work := t.TempDir()
	root, creds := filepath.Join(work, "root"), filepath.Join(work, "credentials")
	for _, d := range []string{root, creds} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	key, err := os.ReadFile(host.ClientKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, "db-ssh"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	knownHosts := filepath.Join(work, "known_hosts")
	if err := sshd.WriteKnownHosts(knownHosts, host.Host); err != nil {
		t.Fatal(err)
	}
	kubeconfig := kubeconfigWithContext(t, env, "shop-cluster")

	// The README's edits: the database host, the namespace, the image's
	// repository (on a registry without TLS).
	repo := copyExample(t, "mixed")
	stack := filepath.Join(repo, "steward.yaml")
	edit(t, stack, `hosts: ["db1.example.net:22"]`, fmt.Sprintf(`hosts: [%q]`, host.Addr))
	edit(t, stack, "user: deploy", "user: "+host.User)
	// sudo would reset PATH and hide the stand-ins; the test user owns the root.
	edit(t, stack, "sudo: true", fmt.Sprintf("sudo: false\n      root: %q", root))
	edit(t, stack, "namespace: shop", "namespace: "+ns)
	// Fewer health checks while the test keeps the database down.
	edit(t, stack, "retries: 10", "retries: 3")
	image := reg.Host + "/shop/app"
	edit(t, stack, "image: registry.example.com/shop/app", "image: "+image)
	edit(t, stack, "images:\n", fmt.Sprintf("images:\n  insecureRegistries: [%q]\n", reg.Host))
	edit(t, filepath.Join(repo, "app/values.yaml"), "repository: registry.example.com/shop/app", "repository: "+image)
	git(t, repo, "add", "-A")
	git(t, repo, "commit", "-q", "-m", "the shop on the test hosts")

	sync := func() (int, string) {
		return stewardRun(t, steward, "sync", "-C", repo, "--kubeconfig", kubeconfig, "--credentials-dir", creds,
			"--known-hosts", knownHosts, "--cache-dir", filepath.Join(work, "cache"))
	}
	client := kubernetes.NewForConfigOrDie(env.Config)
	configMap := func() (*corev1.ConfigMap, error) {
		return client.CoreV1().ConfigMaps(ns).Get(context.Background(), "shop-db", metav1.GetOptions{})
	}

	// The database does not come up: db fails its health check, and the
	// app, which depends on it, is not applied.
	refuse := filepath.Join(host.state, "pg_isready.refuse")
	if err := os.MkdirAll(host.state, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(refuse, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := sync()
	if code != 1 {
		t.Fatalf("sync with the database down: exit %d, want 1\n%s", code, out)
	}
	if _, err := configMap(); err == nil {
		t.Fatalf("the app was applied while its database was unhealthy:\n%s", out)
	}
	if !strings.Contains(out, "blocked (waiting for dependency db (failed)") {
		t.Errorf("the app is not reported blocked by its database:\n%s", out)
	}
	calls := host.calls(t)
	for _, want := range []string{"apt-get install", "systemctl enable postgresql.service", "systemctl start postgresql.service", "pg_isready"} {
		if !slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, want) }) {
			t.Errorf("no %q on the database host among:\n%s", want, strings.Join(calls, "\n"))
		}
	}
	if !slices.ContainsFunc(calls, func(c string) bool {
		return strings.HasPrefix(c, "apt-get install") && strings.HasSuffix(c, " postgresql")
	}) {
		t.Errorf("postgresql not installed: %q", calls)
	}
	conf, err := os.ReadFile(filepath.Join(root, "etc/postgresql/15/main/conf.d/shop.conf"))
	if err != nil || !strings.Contains(string(conf), "listen_addresses = '*'") {
		t.Errorf("shop.conf on the host: %v\n%s", err, conf)
	}
	t.Logf("sync with the database down:\n%s", out)

	// It comes up: db is healthy, then the app is applied, configured with
	// the address of the database host.
	if err := os.Remove(refuse); err != nil {
		t.Fatal(err)
	}
	code, out = sync()
	if code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, out)
	}
	t.Logf("sync:\n%s", out)
	// Nothing changed on the host since, but its last run failed: it was
	// checked again before the app went ahead.
	if calls := host.calls(t); !slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, "pg_isready ") }) {
		t.Errorf("the database host was not checked again: %q", calls)
	}
	cm, err := configMap()
	if err != nil {
		t.Fatalf("the app's ConfigMap: %v", err)
	}
	if cm.Data["DB_HOST"] != "127.0.0.1" || cm.Data["DB_PORT"] != "5432" {
		t.Errorf("the app's database settings %v: want the db host's address 127.0.0.1 and port 5432", cm.Data)
	}
	dep, err := client.AppsV1().Deployments(ns).Get(context.Background(), "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the app's Deployment: %v", err)
	}
	if got := dep.Spec.Template.Spec.Containers[0].Image; got != image+":1.4.2" {
		t.Errorf("the app runs %s, want %s:1.4.2", got, image)
	}
	if _, err := client.CoreV1().Services(ns).Get(context.Background(), "shop", metav1.GetOptions{}); err != nil {
		t.Errorf("the app's Service: %v", err)
	}

	// A second sync changes nothing.
	if code, out := sync(); code != 0 || strings.Contains(out, "created") || strings.Contains(out, "configured") {
		t.Errorf("second sync: exit %d\n%s", code, out)
	}
	// And the live plan of both targets agrees.
	code, out = stewardRun(t, steward, "diff", "--live", "-C", repo, "--kubeconfig", kubeconfig, "--credentials-dir", creds,
		"--known-hosts", knownHosts, "--cache-dir", filepath.Join(work, "cache"))
	if code != 0 {
		t.Errorf("diff --live after the sync: exit %d, want 0 (in sync)\n%s", code, out)
	}

	// Image automation finds the markers of app/values.yaml: the policy
	// picks 1.5.0 (2.0.0 is outside its range) where git has 1.4.2.
	code, out = stewardRun(t, steward, "images", "list", "-C", repo, "--registry-config", filepath.Join(work, "none.json"))
	if code != 0 || !strings.Contains(out, "shop-app") || !strings.Contains(out, "1.5.0") || !strings.Contains(out, "[1.4.2]") {
		t.Errorf("images list: exit %d\n%s", code, out)
	}
	code, out = stewardRun(t, steward, "images", "update", "--dry-run", "-C", repo, "--registry-config", filepath.Join(work, "none.json"))
	if code != 0 || !strings.Contains(out, `-  tag: "1.4.2"`) || !strings.Contains(out, `+  tag: "1.5.0"`) {
		t.Errorf("images update --dry-run: exit %d\n%s", code, out)
	}
}
