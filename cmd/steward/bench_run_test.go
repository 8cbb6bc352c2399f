package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fileFleet is a stack of n units on local targets holding per File
// objects each.
func fileFleet(n, per int) map[string]string {
	files := map[string]string{}
	var stack strings.Builder
	stack.WriteString("apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: out}}\nunits:\n")
	for u := range n {
		name := fmt.Sprintf("u%04d", u)
		fmt.Fprintf(&stack, "  - {name: %s, path: units/%s, generator: {yaml: {}}, target: here}\n", name, name)
		var b strings.Builder
		for i := range per {
			fmt.Fprintf(&b, "---\napiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: %s-f%d}\nspec: {path: /srv/%s/f%d.conf, content: \"unit %s file %d v0\\n\", mode: \"0644\"}\n", name, i, name, i, name, i)
		}
		files["units/"+name+"/files.yaml"] = b.String()
	}
	files["steward.yaml"] = stack.String()
	return files
}

func waitFile(b testing.TB, path, want string, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(path); err == nil && string(data) == want {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.Fatalf("%s never became %q", path, want)
}

var benchEnv = []string{"STEWARD_WEBHOOK_SECRET=bench-secret"}

// BenchmarkPushToApplied measures push-to-applied latency for a one-object
// change in a repository of 200 units / 4000 objects on local targets: once
// announced by a webhook, once found by polling (every second).
func BenchmarkPushToApplied(b *testing.B) {
	bin := buildSteward(b)
	for _, mode := range []string{"webhook", "poll"} {
		b.Run(mode, func(b *testing.B) {
			repo, work := b.TempDir(), b.TempDir()
			initRepo(b, repo, fileFleet(200, 20))
			poll := "1h"
			if mode == "poll" {
				poll = "1s"
			}
			d := startDaemon(b, bin, work, benchEnv, "run", "-C", repo, "--concurrency", "8", "--poll-interval", poll, "--interval", "1h")
			target := filepath.Join(work, "out", "srv", "u0123", "f7.conf")
			waitFile(b, target, "unit u0123 file 7 v0\n", time.Minute)
			var total time.Duration
			for i := range b.N {
				fleet := fileFleet(200, 20)
				want := fmt.Sprintf("unit u0123 file 7 v%d\n", i+1)
				changed := strings.Replace(fleet["units/u0123/files.yaml"], `unit u0123 file 7 v0\n`, strings.TrimSuffix(want, "\n")+`\n`, 1)
				start := time.Now()
				commitRepo(b, repo, map[string]string{"units/u0123/files.yaml": changed})
				if mode == "webhook" {
					d.push(b, "bench-secret")
				}
				waitFile(b, target, want, time.Minute)
				total += time.Since(start)
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/push")
			b.Logf("%s: push (git commit) to applied on disk: %v per push, 200 units / 4000 objects", mode, total/time.Duration(b.N))
		})
	}
}

// BenchmarkRunPeakRSS reports the peak resident memory of `steward run`
// holding 1000 units / 4000 objects, against the goal of 223 MiB (Flux
// kustomize-controller's figure at the same size).
func BenchmarkRunPeakRSS(b *testing.B) {
	bin := buildSteward(b)
	for range b.N {
		repo, work := b.TempDir(), b.TempDir()
		initRepo(b, repo, fileFleet(1000, 4))
		d := startDaemon(b, bin, work, benchEnv, "run", "-C", repo, "--concurrency", "8", "--poll-interval", "1h")
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
		if err != nil {
			b.Fatal(err)
		}
		var hwm float64
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				hwm = kb / 1024
			}
		}
		if hwm == 0 {
			b.Fatal("no VmHWM")
		}
		b.ReportMetric(hwm, "peak-MiB")
		b.ReportMetric(hwm/223, "ratio-to-flux")
		b.Logf("steward run, 1000 units / 4000 objects applied: peak RSS %.1f MiB (goal <= 223 MiB, ratio %.2f)", hwm, hwm/223)
		_ = d.stop(b)
	}
}

func initRepo(b testing.TB, dir string, files map[string]string) {
	b.Helper()
	writeTree(b, dir, files)
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "init"}} {
		gitIn(b, dir, args...)
	}
}

func commitRepo(b testing.TB, dir string, files map[string]string) {
	b.Helper()
	writeTree(b, dir, files)
	gitIn(b, dir, "commit", "-q", "-am", "change")
}

func gitIn(tb testing.TB, dir string, args ...string) {
	tb.Helper()
	cmd := exec.CommandContext(context.Background(), "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@example.com",
		"GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("git %v: %v\n%s", args, err, out)
	}
}
