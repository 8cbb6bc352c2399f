package main

// End-to-end tests of the CLI verbs `sync` and `diff --live` against real
// components: the package's kube-apiserver + etcd (deploy/testenv/kube),
// Debian's sshd (deploy/testenv/sshd) and the local host.

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/stewardhq/steward/deploy/testenv/sshd"
)

// cliToken returns n random hex characters.
func cliToken(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, (n+1)/2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)[:n]
}

// cliKubeStack is a stack with one kubernetes target whose credentials
// name the kubeconfig context ctx, one yaml unit (named unit: units
// are unique per test because the in-cluster inventory is kept per unit
// name) and a check refusing a ConfigMap that turns debug on.
func cliKubeStack(ctx, unit string) string {
	return `apiVersion: steward.dev/v1
kind: Stack
targets:
  cluster: {kubernetes: {credentials: ` + ctx + `}}
units:
  - {name: ` + unit + `, path: app, generator: {yaml: {}}, target: cluster}
checks:
  - name: no-debug
    match: {kind: ConfigMap}
    cel: "!has(object.data.debug) || object.data.debug != 'true'"
    message: debug must stay off
`
}

// cliKubeObjects is the unit's Namespace, ConfigMap and Secret; secret is
// the Secret's password field, e.g. "data: {password: BASE64}" or
// "stringData: {password: TEXT}".
func cliKubeObjects(ns, color, extra, secret string) string {
	return `apiVersion: v1
kind: Namespace
metadata: {name: ` + ns + `}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: ` + ns + `}
data:
  color: ` + color + extra + `
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: ` + ns + `}
type: Opaque
` + secret + `
`
}

func dataSecret(password string) string {
	return "data: {password: " + base64.StdEncoding.EncodeToString([]byte(password)) + "}"
}

func stringDataSecret(password string) string { return "stringData: {password: " + password + "}" }

// secretForms returns the plaintext and base64 of each password: none may
// appear in steward's output.
func secretForms(passwords ...string) []string {
	var out []string
	for _, p := range passwords {
		out = append(out, p, base64.StdEncoding.EncodeToString([]byte(p)))
	}
	return out
}

// assertNoSecret fails when any output holds one of forms.
func assertNoSecret(t *testing.T, step string, forms []string, outputs ...string) {
	t.Helper()
	for _, o := range outputs {
		for _, s := range forms {
			if s != "" && strings.Contains(o, s) {
				t.Errorf("%s: output shows the secret value %q:\n%s", step, s, o)
			}
		}
	}
}

// editLive changes the ConfigMap's color and the Secret's password in the
// cluster as another writer (an update, field manager someone-else).
func editLive(t *testing.T, c kubernetes.Interface, ns, color, password string) {
	t.Helper()
	m, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if color != "" {
		m.Data["color"] = color
		if _, err := c.CoreV1().ConfigMaps(ns).Update(t.Context(), m, metav1.UpdateOptions{FieldManager: "someone-else"}); err != nil {
			t.Fatalf("edit configmap: %v", err)
		}
	}
	s, err := c.CoreV1().Secrets(ns).Get(t.Context(), "creds", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Data["password"] = []byte(password)
	if _, err := c.CoreV1().Secrets(ns).Update(t.Context(), s, metav1.UpdateOptions{FieldManager: "someone-else"}); err != nil {
		t.Fatalf("edit secret: %v", err)
	}
}

// livePassword returns the Secret's password in the cluster.
func livePassword(t *testing.T, c kubernetes.Interface, ns string) string {
	t.Helper()
	s, err := c.CoreV1().Secrets(ns).Get(t.Context(), "creds", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get secret: %v", err)
	}
	return string(s.Data["password"])
}

// resourceVersions returns the resourceVersion of the unit's three objects.
func resourceVersions(t *testing.T, c kubernetes.Interface, ns string) [3]string {
	t.Helper()
	ctx := t.Context()
	n, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get namespace: %v", err)
	}
	m, err := c.CoreV1().ConfigMaps(ns).Get(ctx, "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get configmap: %v", err)
	}
	s, err := c.CoreV1().Secrets(ns).Get(ctx, "creds", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get secret: %v", err)
	}
	return [3]string{n.ResourceVersion, m.ResourceVersion, s.ResourceVersion}
}

// liveData returns the ConfigMap's data in the cluster.
func liveData(t *testing.T, c kubernetes.Interface, ns string) map[string]string {
	t.Helper()
	m, err := c.CoreV1().ConfigMaps(ns).Get(t.Context(), "settings", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get configmap: %v", err)
	}
	return m.Data
}

func TestCLIKubernetesSyncAndLiveDiff(t *testing.T) {
	env := kubeEnv.Get(t)
	client, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ns, unit := "cli-e2e-"+cliToken(t, 8), "app-"+cliToken(t, 6)
	password, otherPassword := "pw-"+cliToken(t, 16), "other-"+cliToken(t, 16)
	// The kubeconfig's bearer token is a credential too.
	forms := append(secretForms(password, otherPassword), env.Config.BearerToken)
	kc := "--kubeconfig=" + env.Kubeconfig
	head := "unit " + unit + " (target cluster)"

	repo := gitRepo(t)
	commitFiles(t, repo, "first", map[string]string{
		"steward.yaml": cliKubeStack("testenv", unit),
		"app/all.yaml": cliKubeObjects(ns, "blue", "", dataSecret(password)),
	})

	// First sync creates all three objects.
	code, out, errOut := run(t, "sync", "-C", repo, kc)
	assertNoSecret(t, "first sync", forms, out, errOut)
	if code != 0 {
		t.Fatalf("first sync: exit %d, want 0\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		head + " at ",
		"3 created",
		"Namespace/" + ns + " created",
		"ConfigMap/" + ns + "/settings created",
		"Secret/" + ns + "/creds created",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("first sync output lacks %q:\n%s", want, out)
		}
	}
	if got := liveData(t, client, ns)["color"]; got != "blue" {
		t.Errorf("live configmap color = %q, want blue", got)
	}
	if livePassword(t, client, ns) != password {
		t.Errorf("live secret password is not the committed one")
	}

	// Second sync: nothing to do.
	before := resourceVersions(t, client, ns)
	code, out, errOut = run(t, "sync", "-C", repo, kc)
	assertNoSecret(t, "second sync", forms, out, errOut)
	if code != 0 {
		t.Fatalf("second sync: exit %d, want 0\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, head) || !strings.Contains(out, "3 unchanged") ||
		strings.Contains(out, " created") || strings.Contains(out, " configured") {
		t.Errorf("second sync should change nothing:\n%s", out)
	}
	if after := resourceVersions(t, client, ns); after != before {
		t.Errorf("second sync wrote objects: resourceVersions %v -> %v", before, after)
	}

	// diff --live in sync: exit 0, and the dry-run changes nothing.
	code, out, errOut = run(t, "diff", "--live", "-C", repo, kc)
	assertNoSecret(t, "diff --live in sync", forms, out, errOut)
	if code != 0 || !strings.Contains(out, "in sync") {
		t.Fatalf("diff --live: exit %d, want 0 and \"in sync\"\n%s%s", code, out, errOut)
	}
	if after := resourceVersions(t, client, ns); after != before {
		t.Errorf("diff --live changed the cluster: resourceVersions %v -> %v", before, after)
	}

	// Another writer changes the ConfigMap and the Secret: drift, shown
	// with the field named and the secret values masked.
	editLive(t, client, ns, "purple", otherPassword)
	drifted := resourceVersions(t, client, ns)
	code, out, errOut = run(t, "diff", "--live", "-C", repo, kc)
	assertNoSecret(t, "diff --live with drift", forms, out, errOut)
	if code != 1 {
		t.Fatalf("diff --live with drift: exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		head + ": 2 configured, 1 unchanged",
		"ConfigMap/" + ns + "/settings configured",
		"\n-  color: purple\n+  color: blue\n",
		"Secret/" + ns + "/creds configured",
		"\n-  password: '*** (before)'\n+  password: '*** (after)'\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("drift diff lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "in sync") {
		t.Errorf("drift diff says in sync:\n%s", out)
	}
	if after := resourceVersions(t, client, ns); after != drifted {
		t.Errorf("diff --live with drift changed the cluster: resourceVersions %v -> %v", drifted, after)
	}
	if got := liveData(t, client, ns)["color"]; got != "purple" {
		t.Errorf("diff --live reverted the drift: color = %q", got)
	}

	// A committed change is applied by sync, which also takes the drifted
	// fields back from the other writer.
	commitFiles(t, repo, "green", map[string]string{
		"app/all.yaml": cliKubeObjects(ns, "green", "\n  size: large", dataSecret(password)),
	})
	code, out, errOut = run(t, "sync", "-C", repo, kc)
	assertNoSecret(t, "sync of a change", forms, out, errOut)
	if code != 0 {
		t.Fatalf("sync of a change: exit %d, want 0\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"ConfigMap/" + ns + "/settings configured", "Secret/" + ns + "/creds configured"} {
		if !strings.Contains(out, want) {
			t.Errorf("sync of a change lacks %q:\n%s", want, out)
		}
	}
	if d := liveData(t, client, ns); d["color"] != "green" || d["size"] != "large" {
		t.Errorf("live configmap data = %v, want color=green size=large", d)
	}
	if livePassword(t, client, ns) != password {
		t.Errorf("sync did not restore the secret's committed value")
	}

	// A revision that fails a check is refused and not applied.
	applied := resourceVersions(t, client, ns)
	commitFiles(t, repo, "debug", map[string]string{
		"app/all.yaml": cliKubeObjects(ns, "red", "\n  debug: \"true\"", dataSecret(password)),
	})
	code, out, errOut = run(t, "sync", "-C", repo, kc)
	assertNoSecret(t, "sync of a refused revision", forms, out, errOut)
	if code != 1 {
		t.Fatalf("sync of a revision failing a check: exit %d, want 1\n%s%s", code, out, errOut)
	}
	all := out + errOut
	for _, want := range []string{"revision refused", "no-debug", "debug must stay off", "ConfigMap/" + ns + "/settings"} {
		if !strings.Contains(all, want) {
			t.Errorf("refused sync output lacks %q:\n%s", want, all)
		}
	}
	if after := resourceVersions(t, client, ns); after != applied {
		t.Errorf("a refused revision changed the cluster: resourceVersions %v -> %v", applied, after)
	}
	if d := liveData(t, client, ns); d["color"] != "green" || d["debug"] != "" {
		t.Errorf("a refused revision was applied: live data %v", d)
	}
}

// TestCLIKubernetesStringDataSecretDrift: a Secret committed with
// stringData whose value another writer changes is drift like any other.
func TestCLIKubernetesStringDataSecretDrift(t *testing.T) {
	env := kubeEnv.Get(t)
	client, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ns, unit := "cli-e2e-"+cliToken(t, 8), "app-"+cliToken(t, 6)
	password, otherPassword := "pw-"+cliToken(t, 16), "other-"+cliToken(t, 16)
	forms := secretForms(password, otherPassword)
	kc := "--kubeconfig=" + env.Kubeconfig
	repo := gitRepo(t)
	commitFiles(t, repo, "first", map[string]string{
		"steward.yaml": cliKubeStack("testenv", unit),
		"app/all.yaml": cliKubeObjects(ns, "blue", "", stringDataSecret(password)),
	})
	if code, out, errOut := run(t, "sync", "-C", repo, kc); code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errOut)
	}
	if livePassword(t, client, ns) != password {
		t.Fatal("stringData was not applied")
	}
	editLive(t, client, ns, "", otherPassword)

	code, out, errOut := run(t, "diff", "--live", "-C", repo, kc)
	assertNoSecret(t, "diff --live", forms, out, errOut)
	if code != 1 || !strings.Contains(out, "Secret/"+ns+"/creds configured") {
		t.Errorf("diff --live with a drifted stringData secret: exit %d, want 1 naming the Secret\n%s%s", code, out, errOut)
	}
	code, out, errOut = run(t, "sync", "-C", repo, kc)
	assertNoSecret(t, "sync", forms, out, errOut)
	if code != 0 || livePassword(t, client, ns) != password {
		t.Errorf("sync did not restore the drifted stringData secret: exit %d\n%s%s", code, out, errOut)
	}
}

func TestCLIKubernetesBadInput(t *testing.T) {
	env := kubeEnv.Get(t)
	client, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	kc := "--kubeconfig=" + env.Kubeconfig

	t.Run("unknown unit", func(t *testing.T) {
		ns := "cli-e2e-" + cliToken(t, 8)
		repo := gitRepo(t)
		commitFiles(t, repo, "first", map[string]string{
			"steward.yaml": cliKubeStack("testenv", "app-"+cliToken(t, 6)),
			"app/all.yaml": cliKubeObjects(ns, "blue", "", dataSecret("pw-"+cliToken(t, 12))),
		})
		syncCode := -1
		for _, verb := range [][]string{{"diff", "--live"}, {"sync"}} {
			args := append(append([]string{}, verb...), "-C", repo, kc, "nosuchunit")
			code, out, errOut := run(t, args...)
			if verb[0] == "sync" {
				syncCode = code // checked last: see below
			} else if code != 2 {
				t.Errorf("%s with an unknown unit: exit %d, want 2\n%s%s", verb[0], code, out, errOut)
			}
			if code == 0 {
				t.Errorf("%s with an unknown unit succeeded\n%s%s", verb[0], out, errOut)
			}
			if !strings.Contains(errOut, `no unit named ["nosuchunit"]`) {
				t.Errorf("%s with an unknown unit: error does not name it:\n%s%s", verb[0], out, errOut)
			}
			if _, err := client.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("%s with an unknown unit applied the stack (namespace get: %v)", verb[0], err)
			}
		}
		if syncCode != 2 {
			t.Errorf("sync with an unknown unit: exit %d, want 2", syncCode)
		}
	})

	t.Run("unknown context", func(t *testing.T) {
		ns := "cli-e2e-" + cliToken(t, 8)
		ctxName := "no-such-context-" + cliToken(t, 6)
		repo := gitRepo(t)
		commitFiles(t, repo, "first", map[string]string{
			"steward.yaml": cliKubeStack(ctxName, "app-"+cliToken(t, 6)),
			"app/all.yaml": cliKubeObjects(ns, "blue", "", dataSecret("pw-"+cliToken(t, 12))),
		})
		for _, verb := range [][]string{{"sync"}, {"diff", "--live"}} {
			args := append(append([]string{}, verb...), "-C", repo, kc)
			code, out, errOut := run(t, args...)
			if code != 1 {
				t.Errorf("%s with an unknown context: exit %d, want 1\n%s%s", verb[0], code, out, errOut)
			}
			all := out + errOut
			assertNoSecret(t, verb[0]+" with an unknown context", []string{env.Config.BearerToken}, all)
			if !strings.Contains(all, `context "`+ctxName+`"`) {
				t.Errorf("%s with an unknown context: error does not name context %q:\n%s", verb[0], ctxName, all)
			}
			if strings.Contains(all, "panic") {
				t.Errorf("%s panicked:\n%s", verb[0], all)
			}
		}
		if _, err := client.CoreV1().Namespaces().Get(t.Context(), ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("a target with an unknown context applied something (namespace get: %v)", err)
		}
	})
}

// cliMachineRepo commits a stack with one machines target over host and a
// unit "web" with a Directory and a File holding content.
func cliMachineRepo(t *testing.T, repo string, h *sshd.Host, root, content string) {
	t.Helper()
	commitFiles(t, repo, "machines", map[string]string{
		"steward.yaml": `apiVersion: steward.dev/v1
kind: Stack
targets:
  web: {machines: {hosts: ["` + h.Addr + `"], user: ` + h.User + `, credentials: web-ssh, root: "` + root + `"}}
units:
  - {name: web, path: web, generator: {yaml: {}}, target: web}
`,
		"web/objects.yaml": `apiVersion: machine.steward.dev/v1
kind: Directory
metadata: {name: site}
spec: {path: /srv/site, mode: "0755"}
---
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: index}
spec: {path: /srv/site/index.html, content: ` + strconv.Quote(content) + `, mode: "0640"}
`,
	})
}

func TestCLIMachinesOverSSH(t *testing.T) {
	h := sshd.ForTest(t, 1, sshd.DefaultOptions())[0]
	// All test hosts share this machine's filesystem: the target's root is
	// this host's own empty tree.
	root := h.Root
	creds := t.TempDir()
	key, err := os.ReadFile(h.ClientKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, "web-ssh"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--credentials-dir", creds, "--known-hosts", h.KnownHostsPath}
	repo := gitRepo(t)
	const content = "<h1>hello</h1>\nserved by steward\n"
	cliMachineRepo(t, repo, h, root, content)
	file := filepath.Join(root, "srv", "site", "index.html")

	code, out, errOut := run(t, append([]string{"sync", "-C", repo}, flags...)...)
	if code != 0 {
		t.Fatalf("sync: exit %d, want 0\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"unit web (target web) at ", "2 created", "Directory/site created", "File/index created"} {
		if !strings.Contains(out, want) {
			t.Errorf("sync output lacks %q:\n%s", want, out)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("file not written under the host's root: %v", err)
	}
	if string(got) != content {
		t.Errorf("file content = %q, want %q", got, content)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("file mode: %v %v, want 0640", fi.Mode(), err)
	}
	if fi, err := os.Stat(filepath.Dir(file)); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
		t.Errorf("directory not created 0755 under the host's root: %v", err)
	}

	synced, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}

	// A second sync changes nothing on the host.
	code, out, errOut = run(t, append([]string{"sync", "-C", repo}, flags...)...)
	if code != 0 || !strings.Contains(out, "2 unchanged") || strings.Contains(out, " created") || strings.Contains(out, " configured") {
		t.Errorf("second sync: exit %d, want 0 and nothing changed\n%s%s", code, out, errOut)
	}
	code, out, errOut = run(t, append([]string{"diff", "--live", "-C", repo}, flags...)...)
	if code != 0 || !strings.Contains(out, "in sync") {
		t.Fatalf("diff --live after sync: exit %d, want 0 and \"in sync\"\n%s%s", code, out, errOut)
	}
	if fi, err := os.Stat(file); err != nil || !fi.ModTime().Equal(synced.ModTime()) || !os.SameFile(fi, synced) {
		t.Errorf("a no-op sync or diff --live rewrote the file (stat: %v)", err)
	}

	// Someone edits the file by hand: drift, shown as a unified diff, and
	// the dry-run leaves the edit alone.
	const edited = "<h1>hello</h1>\nhand-edited\n"
	if err := os.WriteFile(file, []byte(edited), 0o640); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = run(t, append([]string{"diff", "--live", "-C", repo}, flags...)...)
	if code != 1 {
		t.Fatalf("diff --live with a hand edit: exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"File/index configured", "--- ", "+++ ", "@@ ", "\n-hand-edited\n", "\n+served by steward\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("drift diff lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Directory/site") {
		t.Errorf("drift diff reports the unchanged directory:\n%s", out)
	}
	if got, _ := os.ReadFile(file); string(got) != edited {
		t.Errorf("diff --live changed the file: %q", got)
	}

	code, out, errOut = run(t, append([]string{"sync", "-C", repo}, flags...)...)
	if code != 0 {
		t.Fatalf("sync after a hand edit: exit %d, want 0\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "File/index configured") {
		t.Errorf("sync after a hand edit does not report the file configured:\n%s", out)
	}
	if got, _ := os.ReadFile(file); string(got) != content {
		t.Errorf("sync did not restore the file: %q", got)
	}
	code, out, errOut = run(t, append([]string{"diff", "--live", "-C", repo}, flags...)...)
	if code != 0 {
		t.Errorf("diff --live after restoring: exit %d, want 0\n%s%s", code, out, errOut)
	}

	// An unknown host key is refused with the host and its fingerprint.
	empty := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(edited), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, verb := range [][]string{{"sync"}, {"diff", "--live"}} {
		args := append(append([]string{}, verb...), "-C", repo, "--credentials-dir", creds, "--known-hosts", empty)
		code, out, errOut = run(t, args...)
		if code != 1 {
			t.Errorf("%s with an unknown host key: exit %d, want 1\n%s%s", verb[0], code, out, errOut)
		}
		all := out + errOut
		for _, want := range []string{h.Addr, "host key unknown", h.HostKeyFingerprint} {
			if !strings.Contains(all, want) {
				t.Errorf("%s with an unknown host key: output lacks %q:\n%s", verb[0], want, all)
			}
		}
	}
	if got, _ := os.ReadFile(file); string(got) != edited {
		t.Errorf("a refused host key still let steward write the file: %q", got)
	}
}

func TestCLILocalTarget(t *testing.T) {
	repo := gitRepo(t)
	commitFiles(t, repo, "local", map[string]string{
		"steward.yaml": `apiVersion: steward.dev/v1
kind: Stack
targets:
  here: {local: {root: ./out}}
units:
  - {name: conf, path: conf, generator: {yaml: {}}, target: here}
`,
		"conf/objects.yaml": `apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: greeting}
spec: {path: /etc/greeting.conf, content: "hello local\n"}
`,
	})
	wd := t.TempDir()
	t.Chdir(wd)

	code, out, errOut := run(t, "sync", "-C", repo)
	if code != 0 {
		t.Fatalf("sync: exit %d, want 0\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "File/greeting created") {
		t.Errorf("sync output lacks the created file:\n%s", out)
	}
	got, err := os.ReadFile(filepath.Join(wd, "out", "etc", "greeting.conf"))
	if err != nil {
		t.Fatalf("file not written under ./out of the working directory: %v", err)
	}
	if string(got) != "hello local\n" {
		t.Errorf("content = %q", got)
	}
	if _, err := os.Stat(filepath.Join(repo, "out")); !os.IsNotExist(err) {
		t.Errorf("local root resolved against the repository, not the working directory (stat: %v)", err)
	}

	code, out, errOut = run(t, "diff", "--live", "-C", repo)
	if code != 0 || !strings.Contains(out, "in sync") {
		t.Errorf("diff --live after sync: exit %d, want 0 and \"in sync\"\n%s%s", code, out, errOut)
	}
	code, out, errOut = run(t, "sync", "-C", repo)
	if code != 0 || !strings.Contains(out, "1 unchanged") || strings.Contains(out, "created") {
		t.Errorf("second sync: exit %d, want 0 and nothing changed\n%s%s", code, out, errOut)
	}
}
