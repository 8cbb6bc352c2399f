package ssh

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv"
	"github.com/stewardhq/steward/deploy/testenv/sshd"
	"github.com/stewardhq/steward/reconcile"
)

// benchPlaybook is webObjects for Ansible: the same Directory, two Files and
// guarded Command, per host under host_root.
const benchPlaybook = `- hosts: bench
  gather_facts: false
  tasks:
    - name: app directory
      ansible.builtin.file: {path: "{{ host_root }}/srv/app", state: directory, mode: "0750"}
    - name: conf
      ansible.builtin.copy: {dest: "{{ host_root }}/srv/app/app.conf", content: "listen = 8080\n", mode: "0640"}
    - name: motd
      ansible.builtin.copy: {dest: "{{ host_root }}/srv/app/motd", content: "managed by steward\n"}
    - name: init
      ansible.builtin.command:
        cmd: sh -c 'echo done > "{{ host_root }}/srv/app/.initialised"'
        creates: "{{ host_root }}/srv/app/.initialised"
`

const benchHosts = 50

// BenchmarkMachineVsAnsible: 50 sshd hosts on loopback, 4 resources each
// (Directory, 2 Files, Command with creates). steward's machine target
// (Plan+Apply through Dialer and a Pool, 50 hosts in parallel) against Debian's
// ansible-playbook (forks=50, pipelining, no fact gathering, the same tasks,
// its default ControlPersist connection sharing) on the same hosts: a cold
// run on empty trees and a no-op run, each timed; the ratio is steward's
// wall time over ansible's (goal: <= 0.25 for both).
func BenchmarkMachineVsAnsible(b *testing.B) {
	ansible, err := exec.LookPath("ansible-playbook")
	if err != nil {
		testenv.Missing(b, "ansible-playbook (Debian's ansible, `make bench` installs it): %v", err)
	}
	hosts := sshd.ForTest(b, benchHosts, sshd.DefaultOptions())
	f := newFleet(b, hosts, benchHosts)
	f.usePool() // one connection per host per run, as the reconciler wires it
	objs := objects(b, webObjects)
	play := newAnsibleRun(b, ansible, hosts)
	ctx := context.Background()

	var sCold, sNoop, aCold, aNoop time.Duration
	for range b.N {
		wipe(b, hosts)
		start := time.Now()
		cs := f.sync(b, request("r1", true, objs...))
		sCold += time.Since(start)
		if got := cs.Count(reconcile.Created) + cs.Count(reconcile.Configured); got != 4*benchHosts {
			b.Fatalf("steward cold run changed %d objects, want %d", got, 4*benchHosts)
		}
		start = time.Now()
		cs = f.sync(b, request("r1", true, objs...))
		sNoop += time.Since(start)
		if cs.HasChanges() {
			b.Fatalf("steward no-op run changed something")
		}
		verifyTrees(b, hosts)

		wipe(b, hosts)
		start = time.Now()
		changed := play.run(ctx, b)
		aCold += time.Since(start)
		if changed != 4*benchHosts {
			b.Fatalf("ansible cold run changed %d tasks, want %d", changed, 4*benchHosts)
		}
		start = time.Now()
		changed = play.run(ctx, b)
		aNoop += time.Since(start)
		if changed != 0 {
			b.Fatalf("ansible no-op run changed %d tasks", changed)
		}
		verifyTrees(b, hosts)
	}
	n := float64(b.N)
	coldRatio, noopRatio := sCold.Seconds()/aCold.Seconds(), sNoop.Seconds()/aNoop.Seconds()
	b.Logf("%d hosts x 4 resources: cold steward %.2fs ansible %.2fs (ratio %.3f); no-op steward %.2fs ansible %.2fs (ratio %.3f)",
		benchHosts, sCold.Seconds()/n, aCold.Seconds()/n, coldRatio, sNoop.Seconds()/n, aNoop.Seconds()/n, noopRatio)
	b.ReportMetric(sCold.Seconds()/n, "steward-cold-s")
	b.ReportMetric(aCold.Seconds()/n, "ansible-cold-s")
	b.ReportMetric(sNoop.Seconds()/n, "steward-noop-s")
	b.ReportMetric(aNoop.Seconds()/n, "ansible-noop-s")
	b.ReportMetric(coldRatio, "cold-ratio")
	b.ReportMetric(noopRatio, "noop-ratio")
	b.ReportMetric(max(coldRatio, noopRatio), "ratio")
}

// wipe empties every host's tree.
func wipe(tb testing.TB, hosts []*sshd.Host) {
	tb.Helper()
	for _, h := range hosts {
		entries, err := os.ReadDir(h.Root)
		if err != nil {
			tb.Fatal(err)
		}
		for _, e := range entries {
			if err := os.RemoveAll(filepath.Join(h.Root, e.Name())); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// verifyTrees checks both tools left the same files on every host.
func verifyTrees(tb testing.TB, hosts []*sshd.Host) {
	tb.Helper()
	for _, h := range hosts {
		for p, want := range map[string]string{"srv/app/app.conf": "listen = 8080\n", "srv/app/motd": "managed by steward\n", "srv/app/.initialised": "done\n"} {
			if b, err := os.ReadFile(filepath.Join(h.Root, p)); err != nil || string(b) != want {
				tb.Fatalf("%s %s = %q, %v", h.Addr, p, b, err)
			}
		}
	}
}

// ansibleRun is an ansible-playbook set-up for the test hosts, all its
// state in temporary directories.
type ansibleRun struct {
	bin, dir string
	env      []string
	hosts    int // hosts the inventory lists
}

func newAnsibleRun(tb testing.TB, bin string, hosts []*sshd.Host) *ansibleRun {
	tb.Helper()
	lines := make([]string, len(hosts))
	for i, h := range hosts {
		tmp := filepath.Join(h.Dir, "ansible-tmp")
		lines[i] = fmt.Sprintf("h%02d ansible_host=127.0.0.1 ansible_port=%d host_root=%s ansible_remote_tmp=%s", i, h.Port, h.Root, tmp)
	}
	return setupAnsible(tb, bin, lines, hosts[0].User, hosts[0].ClientKeyPath, hosts[0].KnownHostsPath, benchHosts,
		map[string]string{"site.yml": benchPlaybook})
}

// setupAnsible writes, in temporary directories, an inventory of the
// group bench (hostLines, logged in as user with key, host keys checked
// against knownHosts), an ansible.cfg running forks hosts at once with
// pipelining and no fact gathering, and files (the playbook and what it
// reads).
func setupAnsible(tb testing.TB, bin string, hostLines []string, user, key, knownHosts string, forks int, files map[string]string) *ansibleRun {
	tb.Helper()
	dir := tb.TempDir()
	// ControlPath sockets need a short directory (108 bytes per path).
	cp, err := os.MkdirTemp("", "acp")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(cp) })
	var inv strings.Builder
	inv.WriteString("[bench]\n")
	for _, l := range hostLines {
		inv.WriteString(l + "\n")
	}
	fmt.Fprintf(&inv, "[bench:vars]\nansible_user=%s\nansible_ssh_private_key_file=%s\n", user, key)
	fmt.Fprintf(&inv, "ansible_ssh_common_args='-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes'\n", knownHosts)
	cfg := fmt.Sprintf(`[defaults]
forks = %d
gathering = explicit
host_key_checking = True
interpreter_python = /usr/bin/python3
inventory = %s
local_tmp = %s
retry_files_enabled = False
[ssh_connection]
pipelining = True
control_path_dir = %s
`, forks, filepath.Join(dir, "inventory.ini"), filepath.Join(dir, "local-tmp"), cp)
	files["inventory.ini"], files["ansible.cfg"] = inv.String(), cfg
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	env := append(os.Environ(), "ANSIBLE_CONFIG="+filepath.Join(dir, "ansible.cfg"), "ANSIBLE_HOME="+filepath.Join(dir, "home"),
		"ANSIBLE_NOCOLOR=1", "ANSIBLE_STDOUT_CALLBACK=default")
	return &ansibleRun{bin: bin, dir: dir, env: env, hosts: len(hostLines)}
}

var recapLine = regexp.MustCompile(`(?m)^\S+\s+: ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// run runs the playbook and returns the number of changed tasks.
func (a *ansibleRun) run(ctx context.Context, tb testing.TB) int {
	tb.Helper()
	cmd := exec.CommandContext(ctx, a.bin, "site.yml")
	cmd.Dir, cmd.Env = a.dir, a.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("ansible-playbook: %v\n%s", err, tail(out))
	}
	changed, hostsSeen := 0, 0
	for _, m := range recapLine.FindAllStringSubmatch(string(out), -1) {
		hostsSeen++
		c, _ := strconv.Atoi(m[1])
		changed += c
		if m[2] != "0" || m[3] != "0" {
			tb.Fatalf("ansible failures: %s\n%s", m[0], tail(out))
		}
	}
	if hostsSeen != a.hosts {
		tb.Fatalf("ansible recap lists %d hosts, want %d\n%s", hostsSeen, a.hosts, tail(out))
	}
	return changed
}

func tail(b []byte) string {
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
