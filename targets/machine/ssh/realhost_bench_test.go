package ssh

import (
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stewardhq/steward/deploy/testenv"
	"github.com/stewardhq/steward/deploy/testenv/realhost"
	"github.com/stewardhq/steward/reconcile"
)

// realBenchObjects are the four resources of the real-host benchmark: a
// package (from a repository in each guest, so no download skews a run), a
// template file, a systemd unit and a user.
const realBenchObjects = `apiVersion: machine.steward.dev/v1
kind: Package
metadata: {name: stw-bench}
---
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: stw-bench-conf}
spec: {path: /etc/stw-bench.conf, template: true, mode: "0644", content: "listen {{.Host}}:8080\n"}
---
apiVersion: machine.steward.dev/v1
kind: Unit
metadata: {name: stw-bench}
spec:
  content: "[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n"
  enabled: true
  state: running
  watches: [File/stw-bench-conf]
---
apiVersion: machine.steward.dev/v1
kind: User
metadata: {name: stwbench}
spec: {shell: /bin/bash}
`

// realBenchPlaybook is the same for Ansible: apt, template, the unit file
// and systemd (a unit is two tasks), user.
const realBenchPlaybook = `- hosts: bench
  gather_facts: false
  tasks:
    - ansible.builtin.apt: {name: stw-bench, state: present}
    - ansible.builtin.template: {src: stw-bench.conf.j2, dest: /etc/stw-bench.conf, mode: "0644"}
    - ansible.builtin.copy:
        dest: /etc/systemd/system/stw-bench.service
        content: "[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n"
    - ansible.builtin.systemd: {name: stw-bench, enabled: true, state: started, daemon_reload: true}
    - ansible.builtin.user: {name: stwbench, shell: /bin/bash}
`

// resetScript undoes both tools' work on a guest between runs.
const resetScript = `systemctl disable --now stw-bench.service >/dev/null 2>&1
rm -f /etc/systemd/system/stw-bench.service /etc/stw-bench.conf /var/lib/steward/stw-bench.json
systemctl daemon-reload
dpkg --purge stw-bench >/dev/null
userdel stwbench 2>/dev/null; rm -rf /home/stwbench
true`

// BenchmarkRealHostsVsAnsible: the shared real guests (systemd, apt), four
// resources each (a package, a template file, a unit, a user). steward's
// machine target (Plan+Apply over SSH, a Pool, all hosts in parallel)
// against Debian's ansible-playbook (forks = hosts, pipelining, no fact
// gathering, ControlPersist) on the same guests: a cold run (each guest
// reset first, untimed) and a no-op run, each timed; the ratio is
// steward's wall time over ansible's. It also reports steward's CPU time
// and allocation per host, which bound how many hosts one steward serves.
func BenchmarkRealHostsVsAnsible(b *testing.B) {
	ansible, err := exec.LookPath("ansible-playbook")
	if err != nil {
		testenv.Missing(b, "ansible-playbook (Debian's ansible, `make bench` installs it): %v", err)
	}
	hosts := realHosts(b)
	ctx := context.Background()
	var g errgroup.Group
	for _, h := range hosts {
		g.Go(func() error {
			// Ansible's modules need python on the guest.
			_, err := h.Exec(ctx, "sh", "-c", "command -v python3 >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-apt >/dev/null")
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	for _, h := range hosts {
		localRepo(b, h, "stw-bench=1.0")
		guest(b, h, "apt-get update -q >/dev/null")
	}
	f := newRealFleet(b, hosts, nil)
	pool := NewPool(f.dial)
	defer pool.Close()
	play := newRealAnsible(b, ansible, hosts)
	objs := objects(b, realBenchObjects)
	reset := func() {
		var g errgroup.Group
		for _, h := range hosts {
			g.Go(func() error { _, err := h.Exec(ctx, "sh", "-c", resetScript); return err })
		}
		if err := g.Wait(); err != nil {
			b.Fatal(err)
		}
	}
	n := len(hosts)
	var sCold, sNoop, aCold, aNoop, cpu time.Duration
	var alloc uint64
	for i := range b.N {
		reset()
		rev := "r" + strconv.Itoa(i)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		cpu0 := cpuTime()
		start := time.Now()
		cs := f.sync(b, unitRequest("stw-bench", rev, objs...))
		sCold += time.Since(start)
		if got := cs.Count(reconcile.Created) + cs.Count(reconcile.Configured); got != 4*n {
			b.Fatalf("steward cold run changed %d objects, want %d: %+v", got, 4*n, cs.Changes)
		}
		start = time.Now()
		if cs := f.sync(b, unitRequest("stw-bench", rev, objs...)); cs.HasChanges() {
			b.Fatalf("steward no-op run changed: %+v", cs.Changes)
		}
		sNoop += time.Since(start)
		cpu += cpuTime() - cpu0
		runtime.ReadMemStats(&m1)
		alloc += m1.TotalAlloc - m0.TotalAlloc
		verifyBench(b, hosts)

		reset()
		start = time.Now()
		if changed := play.run(ctx, b); changed != 5*n {
			b.Fatalf("ansible cold run changed %d tasks, want %d", changed, 5*n)
		}
		aCold += time.Since(start)
		start = time.Now()
		if changed := play.run(ctx, b); changed != 0 {
			b.Fatalf("ansible no-op run changed %d tasks", changed)
		}
		aNoop += time.Since(start)
		verifyBench(b, hosts)
	}
	reset()
	runs := float64(b.N)
	coldRatio, noopRatio := sCold.Seconds()/aCold.Seconds(), sNoop.Seconds()/aNoop.Seconds()
	cpuPerHost := cpu.Seconds() / runs / float64(n) / 2
	allocPerHost := float64(alloc) / runs / float64(n) / 2
	b.Logf("%d real hosts x 4 resources: cold steward %.2fs ansible %.2fs (ratio %.3f); no-op steward %.2fs ansible %.2fs (ratio %.3f); "+
		"steward per host and run: %.1f ms CPU, %.0f KiB allocated",
		n, sCold.Seconds()/runs, aCold.Seconds()/runs, coldRatio, sNoop.Seconds()/runs, aNoop.Seconds()/runs, noopRatio,
		cpuPerHost*1000, allocPerHost/1024)
	b.ReportMetric(sCold.Seconds()/runs, "steward-cold-s")
	b.ReportMetric(aCold.Seconds()/runs, "ansible-cold-s")
	b.ReportMetric(sNoop.Seconds()/runs, "steward-noop-s")
	b.ReportMetric(aNoop.Seconds()/runs, "ansible-noop-s")
	b.ReportMetric(coldRatio, "cold-ratio")
	b.ReportMetric(noopRatio, "noop-ratio")
	b.ReportMetric(cpuPerHost*1000, "cpu-ms/host")
	b.ReportMetric(allocPerHost/1024, "alloc-KiB/host")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// verifyBench checks a run left the four resources on every guest.
func verifyBench(tb testing.TB, hosts []*realhost.Host) {
	tb.Helper()
	for _, h := range hosts {
		got := guest(tb, h, "dpkg-query -W -f='${Version}' stw-bench; echo; cat /etc/stw-bench.conf; systemctl is-enabled stw-bench; systemctl is-active stw-bench; getent passwd stwbench | cut -d: -f7")
		want := "1.0\nlisten " + h.IP + ":8080\nenabled\nactive\n/bin/bash"
		if got != want {
			tb.Fatalf("%s:\n%s\nwant\n%s", h.Name, got, want)
		}
	}
}

func newRealAnsible(tb testing.TB, bin string, hosts []*realhost.Host) *ansibleRun {
	tb.Helper()
	lines := make([]string, len(hosts))
	for i, h := range hosts {
		lines[i] = fmt.Sprintf("g%d ansible_host=%s ansible_port=%d", i, h.IP, h.Port)
	}
	return setupAnsible(tb, bin, lines, "root", hosts[0].ClientKeyPath, hosts[0].KnownHostsPath, len(hosts),
		map[string]string{"site.yml": realBenchPlaybook, "stw-bench.conf.j2": "listen {{ ansible_host }}:8080\n"})
}
