package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/stewardhq/steward/deploy/testenv"
	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	"github.com/stewardhq/steward/deploy/testenv/sshd"
	"github.com/stewardhq/steward/reconcile/status"
)

// These tests run `steward run` as a process against real components only:
// a git http-backend server, the testenv kube-apiserver and a Debian sshd
// host. systemd does not run here, and nothing in them needs it.

const e2eSecret = "e2e-webhook-secret"

// e2eRig is the estate of one test: a repository on the git server, a
// cluster namespace, one SSH host and the credentials steward resolves.
type e2eRig struct {
	repo   *gitserver.Repo
	url    string
	ns     string
	host   *sshd.Host
	creds  string
	kubecf string
	client *kubernetes.Clientset
	bin    string
	work   string
}

func newRig(t *testing.T) *e2eRig {
	t.Helper()
	env := kubeEnv.Get(t)
	srv := gitserver.Start(t, gitserver.Options{})
	hosts := sshd.ForTest(t, 1, sshd.DefaultOptions())
	r := &e2eRig{repo: srv.NewRepo(t, "fleet"), url: srv.RepoURL("fleet"), ns: env.Namespace(t), host: hosts[0],
		creds: t.TempDir(), kubecf: env.Kubeconfig, bin: buildSteward(t), work: t.TempDir()}
	key, err := os.ReadFile(r.host.ClientKeyPath)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(r.creds, "host-key"), key, 0o600))
	r.client, err = kubernetes.NewForConfig(env.Config)
	must(t, err)
	return r
}

// stack is a machine unit "base" and a Kubernetes unit "app" depending on it
// (the DAG crosses target kinds), plus a check and extra YAML. Every rig's
// stack is one stack (name:), whatever its repository URL: the rigs share
// the cluster's inventory of "app".
func (r *e2eRig) stack(extra string) string {
	return fmt.Sprintf(`apiVersion: steward.dev/v1
kind: Stack
name: e2e-fleet
targets:
  cluster: {kubernetes: {credentials: testenv, namespace: %s}}
  host: {machines: {hosts: ["%s"], user: %s, credentials: host-key, root: %s}}
units:
  - {name: app, path: app, generator: {yaml: {}}, target: cluster, dependsOn: [base]}
  - {name: base, path: base, generator: {yaml: {}}, target: host}
checks:
  - {name: no-latest, match: {kind: ConfigMap}, cel: "object.data.image != 'latest'", message: "pin the image"}
%s`, r.ns, r.host.Addr, r.host.User, r.host.Root, extra)
}

func appConfig(image string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {image: \"" + image + "\"}\n"
}

func baseFiles(version string) string {
	return "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: conf}\nspec: {path: /etc/app/app.conf, content: \"version=" + version + "\\n\", mode: \"0644\"}\n"
}

func (r *e2eRig) start(t *testing.T, env []string, args ...string) *daemon {
	t.Helper()
	base := []string{"run", "--repo", r.url, "--kubeconfig", r.kubecf, "--credentials-dir", r.creds,
		"--known-hosts", r.host.KnownHostsPath, "--interval", "1h"}
	return startDaemon(t, r.bin, r.work, append([]string{"STEWARD_WEBHOOK_SECRET=" + e2eSecret}, env...), append(base, args...)...)
}

func (r *e2eRig) image(t *testing.T) string {
	t.Helper()
	cm, err := r.client.CoreV1().ConfigMaps(r.ns).Get(context.Background(), "app", metav1.GetOptions{})
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return cm.Data["image"]
}

func (r *e2eRig) hostFile(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.host.Root, "etc/app/app.conf"))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func unitState(s *status.Snapshot, name string) status.UnitStatus {
	if s == nil {
		return status.UnitStatus{}
	}
	u, _ := s.Unit(name)
	return u
}

func TestRunEndToEnd(t *testing.T) {
	r := newRig(t)
	rev1 := r.repo.Commit(t, "v1", map[string]string{"steward.yaml": r.stack(""), "app/cm.yaml": appConfig("app:1"), "base/f.yaml": baseFiles("1")})

	// Polling: the first revision, then a pushed commit within one poll interval.
	d := r.start(t, nil, "--poll-interval", "1s")
	d.waitFor(t, "both units ready at the first revision", time.Minute, func(s *status.Snapshot) bool {
		return unitState(s, "app").Revision == rev1 && unitState(s, "base").Revision == rev1
	})
	s := d.status(t)
	app, base := unitState(s, "app"), unitState(s, "base")
	if !app.LastSuccess.After(base.LastSuccess) {
		t.Fatalf("app (kubernetes) applied at %v, before its dependency base (machine) at %v", app.LastSuccess, base.LastSuccess)
	}
	if r.image(t) != "app:1" || r.hostFile(t) != "version=1\n" {
		t.Fatalf("not applied: image %q, host file %q", r.image(t), r.hostFile(t))
	}
	rev2 := r.repo.Commit(t, "v2", map[string]string{"app/cm.yaml": appConfig("app:2")})
	start := time.Now()
	d.waitFor(t, "v2 applied by polling", 30*time.Second, func(*status.Snapshot) bool { return r.image(t) == "app:2" })
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("push applied after %v with a 1s poll interval", took)
	}
	d.waitFor(t, "status at v2", 10*time.Second, func(s *status.Snapshot) bool { return unitState(s, "app").Revision == rev2 })
	if err := d.stop(t); err != nil {
		t.Fatalf("SIGTERM: steward run exited with %v, want 0\n%s", err, d.log)
	}

	// Webhooks, with polling an hour away.
	d = r.start(t, nil, "--poll-interval", "1h")
	r.repo.Commit(t, "v3", map[string]string{"app/cm.yaml": appConfig("app:3"), "base/f.yaml": baseFiles("3")})
	d.push(t, e2eSecret)
	d.waitFor(t, "v3 applied through the webhook", 30*time.Second, func(*status.Snapshot) bool {
		return r.image(t) == "app:3" && r.hostFile(t) == "version=3\n"
	})

	// A failing check refuses the revision; the last good one stays applied.
	bad := r.repo.Commit(t, "latest", map[string]string{"app/cm.yaml": appConfig("latest")})
	d.push(t, e2eSecret)
	d.waitFor(t, "the revision refused", 30*time.Second, func(s *status.Snapshot) bool {
		return s != nil && strings.Contains(s.SourceError, "rule no-latest") && strings.Contains(s.SourceError, "pin the image")
	})
	if s := d.status(t); r.image(t) != "app:3" || s.Revision == "" || unitState(s, "app").Revision == bad {
		t.Fatalf("refused revision %s applied: image %q, status %+v", bad[:8], r.image(t), unitState(s, "app"))
	}

	// Suspend through the CLI: a push is not applied until resume.
	if code, out, errOut := run(t, "suspend", "app", "--server", "http://"+d.addr); code != 0 {
		t.Fatalf("suspend: exit %d %s %s", code, out, errOut)
	}
	r.repo.Commit(t, "v4", map[string]string{"app/cm.yaml": appConfig("app:4")})
	d.push(t, e2eSecret)
	d.waitFor(t, "app suspended", 30*time.Second, func(s *status.Snapshot) bool { return unitState(s, "app").State == status.StateSuspended })
	if r.image(t) != "app:3" {
		t.Fatalf("suspended unit applied: %q", r.image(t))
	}
	if code, _, errOut := run(t, "resume", "app", "--server", "http://"+d.addr); code != 0 {
		t.Fatalf("resume: exit %d %s", code, errOut)
	}
	d.waitFor(t, "resumed unit applied", 30*time.Second, func(*status.Snapshot) bool { return r.image(t) == "app:4" })

	// A deny window blocks app; an allow window that is open lets it through.
	r.repo.Commit(t, "deny", map[string]string{"steward.yaml": r.stack("windows:\n  - {kind: deny, schedule: \"* * * * *\", duration: 2h, units: [app]}\n"), "app/cm.yaml": appConfig("app:5")})
	d.push(t, e2eSecret)
	d.waitFor(t, "app blocked by the deny window", 30*time.Second, func(s *status.Snapshot) bool {
		u := unitState(s, "app")
		return u.State == status.StateBlocked && strings.Contains(u.Message, "deny window")
	})
	if r.image(t) != "app:4" {
		t.Fatalf("applied inside a deny window: %q", r.image(t))
	}
	r.repo.Commit(t, "allow", map[string]string{"steward.yaml": r.stack("windows:\n  - {kind: allow, schedule: \"* * * * *\", duration: 2h}\n")})
	d.push(t, e2eSecret)
	d.waitFor(t, "applied inside the allow window", 30*time.Second, func(*status.Snapshot) bool { return r.image(t) == "app:5" })

	// A bad signature triggers nothing.
	r.repo.Commit(t, "v6", map[string]string{"app/cm.yaml": appConfig("app:6")})
	if code := d.hook(t, "wrong-secret"); code != 401 {
		t.Fatalf("bad signature: %d, want 401", code)
	}
	time.Sleep(2 * time.Second)
	if r.image(t) != "app:5" {
		t.Fatalf("a webhook with a bad signature triggered a sync: %q", r.image(t))
	}

	// The status page, rendered by Chromium.
	dom := chromiumDOM(t, "http://"+d.addr+"/")
	for _, want := range []string{"app", "base", "ready", d.status(t).Revision[:12]} {
		if !strings.Contains(dom, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if err := d.stop(t); err != nil {
		t.Fatalf("SIGTERM: exit %v", err)
	}
}

// TestRunSIGTERMMidSync stops the daemon while a unit applies: the unit in
// flight finishes, then steward exits 0.
func TestRunSIGTERMMidSync(t *testing.T) {
	r := newRig(t)
	slow := func(v string) string {
		return baseFiles(v) + "---\napiVersion: machine.steward.dev/v1\nkind: Command\nmetadata: {name: slow-" + v + "}\n" +
			"spec: {run: [sh, -c, \"sleep 3 && touch " + r.host.Root + "/done-" + v + "\"], creates: /done-" + v + "}\n"
	}
	r.repo.Commit(t, "v1", map[string]string{"steward.yaml": r.stack(""), "app/cm.yaml": appConfig("app:1"), "base/f.yaml": baseFiles("1")})
	d := r.start(t, nil, "--poll-interval", "1h")
	d.waitFor(t, "ready", time.Minute, func(s *status.Snapshot) bool { return unitState(s, "base").Ready })

	r.repo.Commit(t, "slow", map[string]string{"base/f.yaml": slow("2")})
	d.push(t, e2eSecret)
	d.waitFor(t, "the slow command to start", 30*time.Second, func(*status.Snapshot) bool { return r.hostFile(t) == "version=2\n" })
	sent := time.Now()
	if err := d.stop(t); err != nil {
		t.Fatalf("SIGTERM mid-sync: exit %v, want 0\n%s", err, d.log)
	}
	if _, err := os.Stat(filepath.Join(r.host.Root, "done-2")); err != nil {
		t.Fatalf("the command in flight did not finish before exit (stopped %v after SIGTERM): %v\n%s", time.Since(sent), err, d.log)
	}
	if !strings.Contains(d.log.String(), "unit applied") || !strings.Contains(d.log.String(), "unit=base") {
		t.Fatalf("the finished unit was not recorded:\n%s", d.log)
	}
}

// TestRunRefusesUnsignedCommits runs with SSH signature verification on.
func TestRunRefusesUnsignedCommits(t *testing.T) {
	r := newRig(t)
	key := gitserver.NewSSHKey(t, "release@example.com")
	signers := filepath.Join(t.TempDir(), "allowed_signers")
	must(t, os.WriteFile(signers, []byte(key.AllowedSigners+"\n"), 0o644))

	signed := r.repo.CommitSignedSSH(t, key, "signed", map[string]string{"steward.yaml": r.stack(""), "app/cm.yaml": appConfig("app:1"), "base/f.yaml": baseFiles("1")})
	d := r.start(t, nil, "--poll-interval", "1h", "--verify-ssh", signers)
	d.waitFor(t, "the signed revision applied", time.Minute, func(s *status.Snapshot) bool { return unitState(s, "app").Revision == signed })

	unsigned := r.repo.Commit(t, "unsigned", map[string]string{"app/cm.yaml": appConfig("app:2")})
	d.push(t, e2eSecret)
	d.waitFor(t, "the unsigned commit refused", 30*time.Second, func(s *status.Snapshot) bool {
		return s != nil && strings.Contains(s.SourceError, "commit "+unsigned[:12]+" refused: commit is not signed")
	})
	if r.image(t) != "app:1" {
		t.Fatalf("unsigned commit applied: %q", r.image(t))
	}
}

// chromiumDOM loads url in headless Chromium and returns the rendered DOM.
func chromiumDOM(t *testing.T, url string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, "chromium not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--screenshot="+filepath.Join(t.TempDir(), "status.png"), "--dump-dom", url).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return string(out)
}
