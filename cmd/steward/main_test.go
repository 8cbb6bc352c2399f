package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/kube"
)

// kubeEnv is the package's real kube-apiserver + etcd (deploy/testenv/kube),
// started once for every test that needs a cluster.
var kubeEnv kube.Shared

func TestMain(m *testing.M) { os.Exit(kubeEnv.Main(m, kube.DefaultOptions())) }

// run runs steward in-process with args and returns its exit code, stdout,
// and stderr (including the error line main would print).
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runIn(t, t.TempDir(), args...)
}

// runIn is run with the given generation cache directory.
func runIn(t testing.TB, cacheDir string, args ...string) (int, string, string) {
	t.Helper()
	cmd := newRootCommand()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(append([]string{"--cache-dir", cacheDir}, args...))
	err := cmd.ExecuteContext(context.Background())
	code := 0
	if err != nil {
		code = 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
		}
		if ee == nil || ee.err != nil {
			errOut.WriteString("steward: " + err.Error() + "\n")
		}
	}
	return code, out.String(), errOut.String()
}

// writeTree writes files (path -> content) under dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if content == "" {
			if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// gitRepo makes a real git repository in a temp dir.
func gitRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is required (make test installs it)")
	}
	dir := t.TempDir()
	runGit(t, dir, "init", "-q", "-b", "main")
	return dir
}

// commitFiles writes files (an empty content deletes) and commits them all.
func commitFiles(t *testing.T, dir, msg string, files map[string]string) {
	t.Helper()
	writeTree(t, dir, files)
	runGit(t, dir, "add", "-A")
	runGit(t, dir, "commit", "-q", "-m", msg)
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func cm(name, value string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: app}\ndata: {v: \"" + value + "\"}\n"
}

const stackHeader = `apiVersion: steward.dev/v1
kind: Stack
targets:
  prod: {kubernetes: {credentials: prod}}
`
