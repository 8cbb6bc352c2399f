package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/stewardhq/steward/deploy/testenv"
	"github.com/stewardhq/steward/sources/sops/sopstest"
)

// The plaintexts of the command unit's SOPS files, two revisions of the
// password.
const (
	cmdPassword    = "cmd-pass-0d4e2a"
	cmdPasswordOld = "cmd-pass-old-61b7c5"
	cmdToken       = "cmd-token-a93f18"
)

var cmdPlaintexts = []string{cmdPassword, cmdPasswordOld, cmdToken}

// cmdScript reads the unit's SOPS YAML and the dotenv file of its
// extraPath and prints a Secret of their secrets and a ConfigMap of the
// dotenv's plain value and of the filesystem it runs on. It fails when it
// sees a SOPS key variable; $FAIL makes it quote the password on stderr
// and fail, $HANG hang, $LEAK put the token in the ConfigMap.
const cmdScript = `#!/bin/sh
set -eu
if env | grep -q SOPS_; then echo "a SOPS variable reached the command" >&2; exit 9; fi
password=$(sed -n 's/^password: //p' db.yaml)
token=$(sed -n 's/^TOKEN=//p' ../shared/app.env)
region=$(sed -n 's/^REGION_unencrypted=//p' ../shared/app.env)
if [ -n "${FAIL:-}" ]; then echo "refusing $password" >&2; exit 4; fi
if [ -n "${HANG:-}" ]; then exec sleep 600; fi
if [ -n "${LEAK:-}" ]; then region=$token; fi
cat <<OBJECTS
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: app}
stringData:
  password: "$password"
  token: "$token"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: app}
data:
  region: "$region"
  fs: "$(stat -f -c %T .)"
OBJECTS
`

// cmdStack is a stack of one command unit, cmd, with env for its command;
// it is hermetic, so a generation without SOPS would be cached on disk.
func cmdStack(env string) string {
	return stackHeader + "units:\n  - {name: cmd, path: cmd, extraPaths: [shared], target: prod, generator: {command: {run: [./gen.sh], hermetic: true, timeout: 2s, env: {" + env + "}}}}\n"
}

// cmdRepo commits a command unit reading SOPS files encrypted for
// recipient, twice: the password changes in the second commit.
func cmdRepo(t *testing.T, recipient string) string {
	t.Helper()
	repo := gitRepo(t)
	files := func(password string) map[string]string {
		return map[string]string{
			"steward.yaml": cmdStack(""),
			"cmd/gen.sh":   cmdScript,
			"cmd/db.yaml":  string(sopstest.Encrypt(t, "db.yaml", []byte("user: app\npassword: "+password+"\n"), "", recipient)),
			"shared/app.env": string(sopstest.Encrypt(t, "app.env", []byte("TOKEN="+cmdToken+"\nREGION_unencrypted=eu-west\n"), "",
				recipient)),
		}
	}
	commitFiles(t, repo, "one", files(cmdPasswordOld))
	if err := os.Chmod(filepath.Join(repo, "cmd/gen.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	runGit(t, repo, "add", "-A")
	runGit(t, repo, "commit", "-q", "--amend", "-m", "one")
	commitFiles(t, repo, "two", files(cmdPassword))
	return repo
}

// memoryRuntimeDir points $XDG_RUNTIME_DIR, where steward puts a command's
// decrypted work tree, at a fresh directory on /dev/shm.
func memoryRuntimeDir(t *testing.T) string {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil || uint32(st.Type) != unix.TMPFS_MAGIC {
		testenv.Missing(t, "/dev/shm is not a tmpfs")
	}
	for _, tool := range []string{"sh", "sed", "stat", "sleep", "grep", "env"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "%s not installed", tool)
		}
	}
	dir, err := os.MkdirTemp("/dev/shm", "steward-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Setenv("XDG_RUNTIME_DIR", dir)
	return dir
}

// assertGone fails when the command's work tree is left in dir.
func assertGone(t *testing.T, step, dir string) {
	t.Helper()
	if left, err := os.ReadDir(dir); err != nil || len(left) != 0 {
		t.Errorf("%s: work tree left in the runtime directory: %v %v", step, left, err)
	}
}

// A command unit reads its SOPS files decrypted in a work tree on a tmpfs:
// build masks its Secret unless --show-secrets, diff between two commits
// (trees read from git, materialised) masks it, verify with the key checks
// it and without keys names the files it could not decrypt; a wrong key, a
// failing command, a hanging one and a decrypted value in a ConfigMap each
// fail the unit. After every run the work tree is gone and no file of the
// repository, the cache or the temporary directory holds a plaintext.
func TestSOPSCommandGenerator(t *testing.T) {
	mem := memoryRuntimeDir(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	key, other := sopstest.NewAgeKey(t), sopstest.NewAgeKey(t)
	repo := cmdRepo(t, key.Recipient)
	cache := t.TempDir()
	clean := func(step string, outputs ...string) {
		t.Helper()
		assertNoneShown(t, step, cmdPlaintexts, outputs, repo, cache, tmp)
		assertGone(t, step, mem)
	}

	code, out, errOut := runIn(t, cache, "build", "-C", repo, "--sops-age-keys", key.File)
	if code != 0 {
		t.Fatalf("build: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"password: '***'", "token: '***'", "region: eu-west", "fs: tmpfs"} {
		if !strings.Contains(out, want) {
			t.Errorf("build lacks %q:\n%s", want, out)
		}
	}
	clean("build", out, errOut)
	var cached []string
	_ = filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			cached = append(cached, p)
		}
		return nil
	})
	if len(cached) != 0 {
		t.Errorf("build wrote the decrypted generation to the disk cache: %v", cached)
	}

	// The key through the environment, which the command must not see.
	t.Setenv("SOPS_AGE_KEY_FILE", key.File)
	code, shown, errOut := runIn(t, cache, "build", "-C", repo, "--show-secrets")
	if code != 0 || !strings.Contains(shown, cmdPassword) || !strings.Contains(shown, cmdToken) {
		t.Errorf("build --show-secrets: exit %d, want the plaintexts\n%s%s", code, shown, errOut)
	}
	clean("build --show-secrets")
	os.Unsetenv("SOPS_AGE_KEY_FILE")

	code, out, errOut = runIn(t, cache, "diff", "-C", repo, "--base", "HEAD~1", "--head", "HEAD", "--sops-age-keys", key.File)
	if code != 1 || !strings.Contains(out, "Secret/app/db configured") {
		t.Errorf("diff: exit %d, want 1 and the Secret changed\n%s%s", code, out, errOut)
	}
	clean("diff", out, errOut)

	code, out, errOut = runIn(t, cache, "verify", "-C", repo, "--sops-age-keys", key.File)
	if code != 0 || !strings.HasPrefix(lastLine(out), "ok: 1 units") || strings.Contains(out, "not checked") {
		t.Errorf("verify: exit %d\n%s%s", code, out, errOut)
	}
	clean("verify", out, errOut)

	code, out, errOut = runIn(t, cache, "verify", "-C", repo)
	for _, want := range []string{
		"unit cmd: not checked: sops: cmd/db.yaml: no key can decrypt it",
		"unit cmd: not checked: sops: shared/app.env: no key can decrypt it",
		"ok: 0 units, 0 objects checked; 1 units NOT checked",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("verify without keys: exit %d, lacks %q\n%s%s", code, want, out, errOut)
		}
	}
	clean("verify without keys", out, errOut)

	code, out, errOut = runIn(t, cache, "build", "-C", repo, "--sops-age-keys", other.File)
	if code != 1 || !strings.Contains(errOut, "unit cmd:") || !strings.Contains(errOut, "sops: cmd/db.yaml: no key can decrypt it") {
		t.Errorf("build with another key: exit %d\n%s%s", code, out, errOut)
	}
	clean("build with another key", out, errOut)

	for _, tt := range []struct{ env, want string }{
		{"FAIL: '1'", "refusing ***"},
		{"HANG: '1'", "timeout after 2s"},
		{"LEAK: '1'", "ConfigMap/app/settings holds a value decrypted from cmd/db.yaml, shared/app.env"},
	} {
		writeTree(t, repo, map[string]string{"steward.yaml": cmdStack(tt.env)})
		code, out, errOut = runIn(t, cache, "build", "-C", repo, "--sops-age-keys", key.File)
		if code != 1 || !strings.Contains(errOut, "unit cmd:") || !strings.Contains(errOut, tt.want) {
			t.Errorf("build with %s: exit %d, want 1 and %q\n%s%s", tt.env, code, tt.want, out, errOut)
		}
		clean("build with "+tt.env, out, errOut)
	}
}

// A command sees decrypted only the SOPS files under its unit's path and
// extraPaths: one it reads elsewhere comes as stored, and the object it
// prints from it, still encrypted, fails the unit instead of reaching a
// target as ciphertext; named in extraPaths, the file is decrypted.
func TestSOPSCommandOutsideItsPaths(t *testing.T) {
	mem := memoryRuntimeDir(t)
	key := sopstest.NewAgeKey(t)
	dir := t.TempDir()
	stack := func(extra string) string {
		return stackHeader + "units:\n  - {name: cmd, path: cmd, extraPaths: [" + extra + "], generator: {command: {run: [cat, ../other/secret.yaml]}}, target: prod}\n"
	}
	writeTree(t, dir, map[string]string{
		"steward.yaml": stack(""),
		"cmd/README":   "reads ../other/secret.yaml\n",
		"other/secret.yaml": string(sopstest.Encrypt(t, "secret.yaml", []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: app}\nstringData: {password: "+cmdPassword+"}\n"),
			"^(data|stringData)$", key.Recipient)),
	})
	code, out, errOut := run(t, "build", "-C", dir, "--sops-age-keys", key.File)
	if code != 1 || !strings.Contains(errOut, "unit cmd: Secret/app/s still carries SOPS metadata: it was not decrypted") ||
		!strings.Contains(errOut, "a command generator sees decrypted those under its unit's path and extraPaths") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	assertNoneShown(t, "build", cmdPlaintexts, []string{out, errOut}, dir)

	writeTree(t, dir, map[string]string{"steward.yaml": stack("other")})
	code, out, errOut = run(t, "build", "-C", dir, "--sops-age-keys", key.File)
	if code != 0 || !strings.Contains(out, "password: '***'") {
		t.Errorf("with extraPaths: exit %d, want the Secret masked\n%s%s", code, out, errOut)
	}
	assertNoneShown(t, "build with extraPaths", cmdPlaintexts, []string{out, errOut}, dir)
	assertGone(t, "build with extraPaths", mem)
}
