package examples

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/sshd"
)

// shimNames are the recording stand-ins in testdata/shims: systemd is not
// PID 1 on the sshd test hosts, and apt must not change this machine. They
// answer the calls of both the package manager and systemd steps, and
// pg_isready answers for a database the stand-ins "started".
var shimNames = []string{"systemctl", "apt-get", "apt-cache", "dpkg-query", "pg_isready"}

// shimHost is one sshd test host whose sessions find per-host wrappers of
// the recording shims first on their PATH.
type shimHost struct {
	*sshd.Host
	log   string // every shim call, one per line
	state string // what the shims installed and started
}

func startShimHosts(t *testing.T, n int) []*shimHost {
	t.Helper()
	shims, err := filepath.Abs("testdata/shims")
	if err != nil {
		t.Fatal(err)
	}
	var out []*shimHost
	for i := range n {
		dir := t.TempDir()
		log, state, wrap := filepath.Join(dir, "shim.log"), filepath.Join(dir, "state"), filepath.Join(dir, "bin")
		if err := os.MkdirAll(wrap, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range shimNames {
			script := fmt.Sprintf("#!/bin/sh\nSHIM_LOG=%q SHIM_STATE=%q exec %q \"$@\"\n", log, state, filepath.Join(shims, name))
			if err := os.WriteFile(filepath.Join(wrap, name), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		opts := sshd.DefaultOptions()
		opts.PathPrefix = []string{wrap}
		if i > 0 {
			opts.ClientKey = out[0].ClientKeyPath
		}
		out = append(out, &shimHost{Host: sshd.ForTest(t, 1, opts)[0], log: log, state: state})
	}
	return out
}

// calls returns the shim calls since the last time, leaving out the
// read-only lookups.
func (h *shimHost) calls(t *testing.T) []string {
	b, _ := os.ReadFile(h.log)
	os.Remove(h.log)
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		switch {
		case l == "", strings.HasPrefix(l, "dpkg-query "), strings.HasPrefix(l, "apt-cache "), strings.HasPrefix(l, "apt-get update"),
			strings.HasPrefix(l, "systemctl is-"), strings.HasSuffix(l, "--version"):
			continue
		}
		out = append(out, l)
	}
	return out
}

// built is the steward binary the package's tests share, built once.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

func buildSteward(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "steward-examples-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "steward")
		if out, err := exec.Command("go", "build", "-o", built.bin, "../cmd/steward").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build steward: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// copyExample copies examples/NAME into a new git repository.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	repo := t.TempDir()
	if out, err := exec.Command("cp", "-r", name+"/.", repo).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", name, err, out)
	}
	git(t, repo, "init", "-q", "-b", "main")
	return repo
}

// edit replaces old by new in the file, failing when old is not there.
func edit(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(b, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEstateOverSSH applies examples/estate to two sshd test hosts, as the
// README says to: the placeholder hosts replaced by real ones. All test
// hosts share this machine's file system (and network), so both get one
// root directory, and systemctl and apt are recording stand-ins
// (testdata/shims) with a state of their own per host; the health check is
// a real HTTP endpoint that the test turns unhealthy. Real systemd and apt
// are covered by targets/machine's own tests.
func TestEstateOverSSH(t *testing.T) {
	hosts := startShimHosts(t, 2)
	steward := buildSteward(t)
	work := t.TempDir()
	root, creds := filepath.Join(work, "root"), filepath.Join(work, "credentials")
	for _, d := range []string{root, creds} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	key, err := os.ReadFile(hosts[0].ClientKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, "web-ssh"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	knownHosts := filepath.Join(work, "known_hosts")
	if err := sshd.WriteKnownHosts(knownHosts, hosts[0].Host, hosts[1].Host); err != nil {
		t.Fatal(err)
	}
	var healthy atomic.Bool
	var probes atomic.Int32
	healthy.Store(true)
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		probes.Add(1)
		if r.URL.Path != "/healthz" || !healthy.Load() {
			http.Error(w, "unhealthy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	}))
	defer health.Close()
	_, port, _ := strings.Cut(strings.TrimPrefix(health.URL, "http://"), ":")

	// The "documented overlay": the README's edits to steward.yaml.
	repo := copyExample(t, "estate")
	stack := filepath.Join(repo, "steward.yaml")
	edit(t, stack, `hosts: ["web1.example.net:22", "web2.example.net:22", "web3.example.net:22", "web4.example.net:22"]`,
		fmt.Sprintf(`hosts: [%q, %q]`, hosts[0].Addr, hosts[1].Addr))
	edit(t, stack, "user: deploy", "user: "+hosts[0].User)
	// sudo would reset PATH and hide the shims; the test user owns the root.
	edit(t, stack, "sudo: true", fmt.Sprintf("sudo: false\n      root: %q", root))
	edit(t, stack, "{{.Host}}:8080", "{{.Host}}:"+port)
	git(t, repo, "add", "-A")
	git(t, repo, "commit", "-q", "-m", "estate on the test hosts")

	sync := func() (int, string) {
		cmd := exec.Command(steward, "sync", "-C", repo, "--credentials-dir", creds, "--known-hosts", knownHosts,
			"--cache-dir", filepath.Join(work, "cache"))
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}

	// First rollout: both hosts get nginx, curl, the site and both units.
	code, out := sync()
	if code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, out)
	}
	want := []string{
		"apt-get install * nginx", "apt-get install * curl",
		"systemctl daemon-reload", "systemctl enable nginx.service", "systemctl start nginx.service",
		"systemctl enable www-cache-warm.service", "systemctl start www-cache-warm.service",
	}
	for _, h := range hosts {
		got := h.calls(t)
		for _, w := range want {
			prefix, suffix, _ := strings.Cut(w, " * ")
			if !slices.ContainsFunc(got, func(c string) bool {
				return c == w || (suffix != "" && strings.HasPrefix(c, prefix+" ") && strings.HasSuffix(c, " "+suffix))
			}) {
				t.Errorf("%s: no %q among the calls:\n%s", h.Addr, w, strings.Join(got, "\n"))
			}
		}
	}
	for _, f := range []string{"etc/nginx/conf.d/site.conf", "srv/www/index.html", "etc/systemd/system/www-cache-warm.service"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	if n := probes.Load(); n < 2 {
		t.Errorf("health checked %d times, want once per host at least", n)
	}
	t.Logf("first sync:\n%s", out)

	// Nothing changed: nothing is done.
	if code, out := sync(); code != 0 {
		t.Fatalf("second sync: exit %d\n%s", code, out)
	}
	for _, h := range hosts {
		if got := h.calls(t); len(got) != 0 {
			t.Errorf("%s: a sync with no change ran %q", h.Addr, got)
		}
	}

	// A configuration that makes the first host unhealthy: it is rolled
	// back, and the second batch is never touched.
	conf := filepath.Join(root, "etc/nginx/conf.d/site.conf")
	before, _ := os.ReadFile(conf)
	healthy.Store(false)
	edit(t, filepath.Join(repo, "web/site.conf"), "listen 8080 default_server;", "listen 8080 default_server reuseport;")
	git(t, repo, "commit", "-q", "-am", "reuseport")
	code, out = sync()
	if code != 1 {
		t.Fatalf("sync with an unhealthy host: exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "skipped") {
		t.Errorf("the second batch is not reported skipped:\n%s", out)
	}
	if after, _ := os.ReadFile(conf); !bytes.Equal(after, before) {
		t.Errorf("site.conf after the rollback:\n%s\nwant the last good one:\n%s", after, before)
	}
	first, second := hosts[0].calls(t), hosts[1].calls(t)
	if len(first) == 0 {
		t.Errorf("the first host was not restarted")
	}
	if len(first) > 0 && len(second) > 0 {
		t.Errorf("both hosts were changed: %q and %q", first, second)
	}
	t.Logf("unhealthy sync:\n%s", out)
}
