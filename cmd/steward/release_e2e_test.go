package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/stewardhq/steward/reconcile/status"
)

// releaseGen renders one unit for whichever wave runs it: a machine File
// on the local target and the SSH host, a ConfigMap on the cluster. On the
// SSH host the content says "bad" while break-hosts says yes, which the
// unit's health check refuses; on the cluster the ConfigMap names a
// namespace that does not exist while break-cluster says yes.
const releaseGen = `v=$(cat version)
case "$STEWARD_TARGET" in
cluster)
  ns=""
  if [ "$(cat break-cluster 2>/dev/null)" = yes ]; then ns=", namespace: missing-ns"; fi
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: rel%s}\ndata: {version: "%s"}\n' "$ns" "$v" ;;
*)
  if [ "$STEWARD_TARGET" = hosts ] && [ "$(cat break-hosts)" = yes ]; then v="$v bad"; fi
  printf 'apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: conf}\nspec: {path: /etc/app/rel.conf, content: "%s\\n", mode: "0644"}\n' "$v" ;;
esac
`

// TestReleaseAcrossThreeKinds releases one unit over a local target, an
// SSH host (sshd) and the testenv kube-apiserver, through steward run: a
// failing health check on the host freezes the release, a newer revision
// waits behind it, a restart keeps it frozen, the CLI resumes it (through
// the token-guarded API), and a second freeze is aborted, rolling the
// local wave back.
func TestReleaseAcrossThreeKinds(t *testing.T) {
	r := newRig(t)
	tok := cliToken(t, 6)
	unit := "rel-" + tok
	here := t.TempDir()
	hostConf := filepath.Join(r.host.Root, "etc/app/rel.conf")
	stack := fmt.Sprintf(`apiVersion: steward.dev/v1
kind: Stack
name: e2e-release-%s
targets:
  here: {local: {root: %s}}
  hosts: {machines: {hosts: ["%s"], user: %s, credentials: host-key, root: %s}}
  cluster: {kubernetes: {credentials: testenv, namespace: %s}}
units:
  - name: %s
    path: app
    generator: {command: {run: [sh, gen.sh]}}
    targets: [here, hosts, cluster]
    progressive: {soak: 2s}
    health: {command: {run: [sh, -c, "! grep -qs bad %s"]}, retries: 1}
`, tok, here, r.host.Addr, r.host.User, r.host.Root, r.ns, unit, hostConf)
	version := func(v, broken string) map[string]string {
		return map[string]string{"app/version": v, "app/break-hosts": broken}
	}
	files := version("v1", "no")
	files["steward.yaml"], files["app/gen.sh"] = stack, releaseGen
	rev1 := r.repo.Commit(t, "v1", files)

	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			return "-"
		}
		return strings.TrimSpace(string(b))
	}
	cluster := func() string {
		cm, err := r.client.CoreV1().ConfigMaps(r.ns).Get(context.Background(), "rel", metav1.GetOptions{})
		if err != nil {
			return "-"
		}
		return cm.Data["version"]
	}
	holds := func() string {
		return "here=" + read(filepath.Join(here, "etc/app/rel.conf")) + " hosts=" + read(hostConf) + " cluster=" + cluster()
	}
	release := func(s *status.Snapshot) string { return unitState(s, unit+".here").Release }
	apiToken := "release-api-" + tok
	tokenFile := filepath.Join(t.TempDir(), "api-token")
	must(t, os.WriteFile(tokenFile, []byte(apiToken+"\n"), 0o600))
	env := []string{"STEWARD_API_TOKEN=" + apiToken}
	d := r.start(t, env, "--poll-interval", "1s")

	d.waitFor(t, "v1 through all three waves", 3*time.Minute, func(s *status.Snapshot) bool {
		return strings.HasPrefix(release(s), "complete: 3 waves") && unitState(s, unit+".cluster").Revision == rev1
	})
	if got := holds(); got != "here=v1 hosts=v1 cluster=v1" {
		t.Fatalf("after v1: %s", got)
	}

	// v2 breaks the SSH host's health check: wave 2 fails and freezes
	// the release; the cluster keeps v1.
	r.repo.Commit(t, "v2", version("v2", "yes"))
	d.waitFor(t, "the release frozen at wave 2", 3*time.Minute, func(s *status.Snapshot) bool {
		return strings.HasPrefix(release(s), "wave 2 of 3, frozen: target hosts failed revision")
	})
	if got := holds(); got != "here=v2 hosts=v1 cluster=v1" {
		t.Fatalf("frozen at wave 2: %s (the host is rolled back by its health gate)", got)
	}

	// v3 arrives while v2's release is frozen: it waits behind it.
	rev3 := r.repo.Commit(t, "v3", version("v3", "no"))
	d.waitFor(t, "v3 waiting behind the frozen release", time.Minute, func(s *status.Snapshot) bool {
		u := unitState(s, unit+".here")
		return u.LastAttemptedRevision == rev3 && strings.Contains(u.Message, "release frozen at wave 2 of 3")
	})
	if got := holds(); got != "here=v2 hosts=v1 cluster=v1" {
		t.Fatalf("v3 went past a frozen release: %s", got)
	}

	// A restarted steward finds the release frozen where it was.
	if err := d.stop(t); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, d.log)
	}
	d = r.start(t, env, "--poll-interval", "1s")
	d.waitFor(t, "frozen after the restart", time.Minute, func(s *status.Snapshot) bool {
		return strings.HasPrefix(release(s), "wave 2 of 3, frozen:")
	})
	if got := holds(); got != "here=v2 hosts=v1 cluster=v1" {
		t.Fatalf("after the restart: %s", got)
	}

	// The API wants the token; the CLI has it.
	resp, err := http.Post("http://"+d.addr+"/api/releases/"+unit+"/resume", "", nil)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("resume without the token: %s", resp.Status)
	}
	if code, _, errOut := run(t, "release", "resume", "nothing-"+tok, "--server", "http://"+d.addr, "--api-token-file", tokenFile); code != 1 || !strings.Contains(errOut, "404") {
		t.Fatalf("resume of an unknown unit: exit %d %s", code, errOut)
	}
	if code, out, errOut := run(t, "release", "resume", unit, "--server", "http://"+d.addr, "--api-token-file", tokenFile); code != 0 {
		t.Fatalf("release resume: exit %d %s %s", code, out, errOut)
	}
	d.waitFor(t, "v3 released through all three waves", 3*time.Minute, func(s *status.Snapshot) bool {
		return strings.HasPrefix(release(s), "complete: 3 waves") && holds() == "here=v3 hosts=v3 cluster=v3"
	})

	// v4 freezes again; aborted, the local wave goes back to v3.
	r.repo.Commit(t, "v4", version("v4", "yes"))
	d.waitFor(t, "v4 frozen at wave 2", 3*time.Minute, func(s *status.Snapshot) bool {
		return strings.HasPrefix(release(s), "wave 2 of 3, frozen:")
	})
	if code, out, errOut := run(t, "release", "abort", unit, "--server", "http://"+d.addr, "--api-token-file", tokenFile); code != 0 {
		t.Fatalf("release abort: exit %d %s %s", code, out, errOut)
	}
	if got := holds(); got != "here=v3 hosts=v3 cluster=v3" {
		t.Fatalf("after the abort: %s", got)
	}
	d.waitFor(t, "the release shown aborted", time.Minute, func(s *status.Snapshot) bool {
		return strings.Contains(release(s), "aborted: revision")
	})
	if code, _, errOut := run(t, "release", "abort", unit, "--server", "http://"+d.addr, "--api-token-file", tokenFile); code != 1 || !strings.Contains(errOut, "409") {
		t.Fatalf("a second abort: exit %d %s", code, errOut)
	}
	if got := holds(); got != "here=v3 hosts=v3 cluster=v3" {
		t.Fatalf("the aborted revision was applied again: %s", got)
	}

	// v5 fails on the cluster, the last wave: frozen there, the machine
	// waves run v5 and the cluster keeps v3.
	v5 := version("v5", "no")
	v5["app/break-cluster"] = "yes"
	r.repo.Commit(t, "v5", v5)
	d.waitFor(t, "v5 frozen at wave 3", 3*time.Minute, func(s *status.Snapshot) bool {
		return strings.HasPrefix(release(s), "wave 3 of 3, frozen: target cluster failed revision")
	})
	if got := holds(); got != "here=v5 hosts=v5 cluster=v3" {
		t.Fatalf("frozen at wave 3: %s", got)
	}
	if err := d.stop(t); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
}
