package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/stewardhq/steward/deploy/testenv"
	"github.com/stewardhq/steward/deploy/testenv/kube"
)

// mergeKubeconfigs writes one kubeconfig holding the context of each file
// under a new name (name -> file).
func mergeKubeconfigs(t *testing.T, path string, files map[string]string) {
	t.Helper()
	out := clientcmdapi.NewConfig()
	for name, file := range files {
		cfg, err := clientcmd.LoadFromFile(file)
		if err != nil {
			t.Fatal(err)
		}
		ctx := cfg.Contexts[cfg.CurrentContext]
		out.Clusters[name] = cfg.Clusters[ctx.Cluster]
		out.AuthInfos[name] = cfg.AuthInfos[ctx.AuthInfo]
		out.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	if err := clientcmd.WriteToFile(*out, path); err != nil {
		t.Fatal(err)
	}
}

// Multi-cluster (issue 14 item 13): one stack, two kubeconfig contexts
// naming two real API servers, a unit on each, and the unit on east
// depending on the one on west: it waits while west fails, and each
// cluster gets only its own unit's objects.
func TestCLIMultiCluster(t *testing.T) {
	east := kubeEnv.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	west, err := kube.Start(ctx, kube.DefaultOptions())
	cancel()
	if errors.Is(err, kube.ErrMissing) {
		testenv.Missing(t, "%v", err)
	}
	if err != nil {
		t.Fatalf("start a second kube-apiserver: %v", err)
	}
	t.Cleanup(func() {
		if err := west.Stop(); err != nil {
			t.Errorf("stop the second API server: %v", err)
		}
	})
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	mergeKubeconfigs(t, kc, map[string]string{"east": east.Kubeconfig, "west": west.Kubeconfig})
	clients := map[string]kubernetes.Interface{}
	for name, env := range map[string]*kube.Env{"east": east, "west": west} {
		c, err := kubernetes.NewForConfig(env.Config)
		if err != nil {
			t.Fatal(err)
		}
		clients[name] = c
	}

	tok := cliToken(t, 6)
	ns, db, app := "mc-"+tok, "db-"+tok, "app-"+tok
	objs := func(name, namespace string) string {
		return "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: " + namespace + "}\ndata: {v: x}\n"
	}
	repo := gitRepo(t)
	commitFiles(t, repo, "two clusters", map[string]string{
		"steward.yaml": `apiVersion: steward.dev/v1
kind: Stack
targets:
  east: {kubernetes: {credentials: east}}
  west: {kubernetes: {credentials: west}}
units:
  - {name: ` + app + `, path: app, generator: {yaml: {}}, target: east, dependsOn: [` + db + `]}
  - {name: ` + db + `, path: db, generator: {yaml: {}}, target: west}
`,
		// db's ConfigMap names a namespace west does not have: it fails.
		"db/db.yaml":   objs("db", "missing-"+tok),
		"app/app.yaml": objs("app", ns),
	})
	has := func(cluster, name string) bool {
		_, err := clients[cluster].CoreV1().ConfigMaps(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatalf("%s: %v", cluster, err)
		}
		return err == nil
	}

	code, out, errOut := run(t, "sync", "-C", repo, "--kubeconfig", kc)
	if code != 1 || !strings.Contains(out, "waiting for dependency "+db) {
		t.Fatalf("sync with west failing: exit %d, want 1 and %s blocked\n%s%s", code, app, out, errOut)
	}
	if has("east", "app") {
		t.Error("app was applied on east while its dependency on west failed")
	}

	commitFiles(t, repo, "fix db", map[string]string{"db/db.yaml": objs("db", ns)})
	code, out, errOut = run(t, "sync", "-C", repo, "--kubeconfig", kc)
	if code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errOut)
	}
	if i, j := strings.Index(out, "unit "+db+" (target west)"), strings.Index(out, "unit "+app+" (target east)"); i < 0 || j < 0 {
		t.Errorf("sync output lacks a unit:\n%s", out)
	}
	if !has("west", "db") || !has("east", "app") {
		t.Errorf("west has db %v, east has app %v; want both", has("west", "db"), has("east", "app"))
	}
	if has("east", "db") || has("west", "app") {
		t.Errorf("a unit's object reached the other cluster: east db %v, west app %v", has("east", "db"), has("west", "app"))
	}
}
