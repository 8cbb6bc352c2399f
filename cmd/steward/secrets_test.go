package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Repository code runs as steward's user: it must find none of steward's
// secrets, neither in the environment it inherits nor in steward's own
// /proc/PID/environ. steward runs here as nobody (or the test's own user),
// the way it runs in production: not as root, which may read any process.
func TestSecretsUnreachableFromGenerators(t *testing.T) {
	dir, err := os.MkdirTemp("", "steward-secrets-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	bin := filepath.Join(dir, "steward")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	repo := filepath.Join(dir, "repo")
	writeTree(t, repo, map[string]string{
		"steward.yaml": stackHeader + "units:\n  - {name: probe, path: probe, generator: {command: {run: [sh, gen.sh]}}, target: prod}\n",
		// Walks up from its parent (the command generator's reaper, then
		// steward) and reads each ancestor's environ it may.
		"probe/gen.sh": `found=0; denied=""; pid=$PPID
for i in 1 2 3 4; do
  [ "$pid" -gt 1 ] || break
  if env=$(tr '\0' '\n' 2>/dev/null </proc/$pid/environ); then
    found=$((found + $(printf '%s\n' "$env" | grep -c hunter2)))
  else
    denied="$denied $pid"
  fi
  pid=$(cut -d' ' -f4 /proc/$pid/stat)
done
e=$(env | grep -c hunter2)
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: probe, namespace: app}\ndata: {found: "%s", denied: "%s ", env: "%s"}\n' "$found" "$denied" "$e"
`})
	must(t, filepath.Walk(repo, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return os.Chmod(p, 0o755)
		}
		return os.Chmod(p, 0o644)
	}))
	cmd := exec.Command(bin, "build", "-C", repo, "--no-cache")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"STEWARD_GIT_TOKEN=hunter2-git", "STEWARD_WEBHOOK_SECRET=hunter2-hook", "STEWARD_API_TOKEN=hunter2-api"}
	if os.Getuid() == 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	out := buf.String()
	if err != nil {
		t.Fatalf("steward build: %v\n%s", err, out)
	}
	if !strings.Contains(out, `env: "0"`) {
		t.Errorf("a generator inherited a secret:\n%s", out)
	}
	if !strings.Contains(out, `found: "0"`) {
		t.Errorf("a generator found a secret in an ancestor's /proc/PID/environ:\n%s", out)
	}
	if !strings.Contains(out, fmt.Sprintf(" %d ", cmd.Process.Pid)) {
		t.Errorf("a generator could read steward's (pid %d) /proc/PID/environ:\n%s", cmd.Process.Pid, out)
	}
}

// --api-token-file is read once, wins over the environment, and every
// secret variable is gone from the environment afterwards.
func TestSecretFileFlags(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "token")
	must(t, os.WriteFile(file, []byte("from-file\n"), 0o600))
	t.Setenv("STEWARD_API_TOKEN", "from-env")
	t.Setenv("STEWARD_GIT_TOKEN", "git-from-env")
	if code, _, errOut := run(t, "suspend", "web", "--server", srv.URL, "--api-token-file", file); code != 0 {
		t.Fatalf("suspend: exit %d %s", code, errOut)
	}
	if got != "Bearer from-file" {
		t.Errorf("Authorization = %q, want the file's token", got)
	}
	for _, v := range []string{"STEWARD_API_TOKEN", "STEWARD_GIT_TOKEN"} {
		if _, set := os.LookupEnv(v); set {
			t.Errorf("%s still in the environment", v)
		}
	}
	if code, _, errOut := run(t, "suspend", "web", "--server", srv.URL, "--api-token-file", filepath.Join(t.TempDir(), "missing")); code != 2 || !strings.Contains(errOut, "--api-token-file") {
		t.Errorf("missing token file: exit %d %s", code, errOut)
	}
}
