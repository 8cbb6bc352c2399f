package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/stewardhq/steward/deploy/testenv/sshd"
)

// A Service's clusterIP, read from the testenv kube-apiserver after the
// unit that applies it, flows into a machine File on an sshd host, and that
// host's hostname fact into a helm value applied to the cluster; when the
// Service is replaced and gets another address, the next sync rewrites the
// File.
func TestCLIServiceIPFlowsToSSHHost(t *testing.T) {
	env := kubeEnv.Get(t)
	client, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	h := sshd.ForTest(t, 1, sshd.DefaultOptions())[0]
	creds := t.TempDir()
	key, err := os.ReadFile(h.ClientKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, "web-ssh"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	ns, db, web, app := "flow-"+cliToken(t, 8), "db-"+cliToken(t, 6), "web-"+cliToken(t, 6), "app-"+cliToken(t, 6)
	repo := gitRepo(t)
	commitFiles(t, repo, "flow", map[string]string{
		"steward.yaml": `apiVersion: steward.dev/v1
kind: Stack
targets:
  cluster: {kubernetes: {credentials: testenv}}
  hosts: {machines: {hosts: ["` + h.Addr + `"], user: ` + h.User + `, credentials: web-ssh, root: "` + h.Root + `"}}
units:
  - name: ` + db + `
    path: db
    generator: {yaml: {}}
    target: cluster
    namespace: ` + ns + `
    outputs:
      address: {jsonPath: {object: Service/db, path: .spec.clusterIP}, example: 10.0.0.99}
  - name: ` + web + `
    path: web
    generator: {yaml: {}}
    target: hosts
    dependsOn: [` + db + `]
    inputs: {dbHost: ` + db + `.address}
    outputs:
      hostname: {fact: hostname, example: example-host}
  - name: ` + app + `
    path: app
    generator: {helm: {chart: .}}
    target: cluster
    namespace: ` + ns + `
    dependsOn: [` + web + `]
    inputs: {webHost: ` + web + `.hostname}
`,
		"app/Chart.yaml":        "apiVersion: v2\nname: app\nversion: 0.1.0\n",
		"app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {webHost: {{ .Values.inputs.webHost | quote }}}\n",
		"db/all.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n---\n" +
			"apiVersion: v1\nkind: Service\nmetadata: {name: db, namespace: " + ns + "}\n" +
			"spec: {selector: {app: db}, ports: [{port: 5432}]}\n",
		"web/upstream.yaml": "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: upstream}\n" +
			"spec:\n  path: /etc/nginx/upstream.conf\n  template: true\n  content: \"upstream db { server {{.Inputs.dbHost}}:5432; }\\n\"\n",
	})
	flags := []string{"-C", repo, "--kubeconfig=" + env.Kubeconfig, "--credentials-dir", creds, "--known-hosts", h.KnownHostsPath}
	file := filepath.Join(h.Root, "etc/nginx/upstream.conf")
	clusterIP := func() string {
		svc, err := client.CoreV1().Services(ns).Get(t.Context(), "db", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return svc.Spec.ClusterIP
	}

	code, out, errOut := run(t, append([]string{"sync"}, flags...)...)
	if code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errOut)
	}
	ip := clusterIP()
	got, err := os.ReadFile(file)
	if err != nil || string(got) != "upstream db { server "+ip+":5432; }\n" {
		t.Fatalf("upstream.conf on the host = %q (%v), want the Service's clusterIP %s", got, err, ip)
	}
	if strings.Contains(string(got), "10.0.0.99") {
		t.Fatal("the example reached a live host")
	}
	// And the sshd host's hostname fact flows on into a helm value.
	cm, err := client.CoreV1().ConfigMaps(ns).Get(t.Context(), "app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hostname, err := os.Hostname() // the test hosts run on this machine
	if err != nil {
		t.Fatal(err)
	}
	if cm.Data["webHost"] != hostname {
		t.Errorf("helm value from the host fact = %q, want %q", cm.Data["webHost"], hostname)
	}

	// The Service is replaced and gets another address: no new commit, and
	// the host follows.
	if err := client.CoreV1().Services(ns).Delete(t.Context(), "db", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	var ip2 string
	for range 5 { // a new clusterIP may, rarely, be the old one again
		code, out, errOut = run(t, append([]string{"sync"}, flags...)...)
		if code != 0 {
			t.Fatalf("sync after the Service was replaced: exit %d\n%s%s", code, out, errOut)
		}
		if ip2 = clusterIP(); ip2 != ip {
			break
		}
		if err := client.CoreV1().Services(ns).Delete(t.Context(), "db", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	got, err = os.ReadFile(file)
	if err != nil || string(got) != "upstream db { server "+ip2+":5432; }\n" {
		t.Fatalf("after the Service changed: upstream.conf = %q (%v), want %s\n%s", got, err, ip2, out)
	}
}
