package command_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stewardhq/steward/deploy/testenv"
	"github.com/stewardhq/steward/generators/command"
	"github.com/stewardhq/steward/generators/internal/gentest"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/sources/sops"
	"github.com/stewardhq/steward/sources/sops/sopstest"
)

// The plaintexts of sopsRepo's encrypted files.
const (
	dbPassword = "db-pass-3c9e71"
	apiToken   = "api-token-b81f0d"
)

// genScript reads the unit's SOPS YAML and the dotenv file of its
// extraPath, and prints a Secret of their secrets and a ConfigMap of the
// dotenv's plain value, of the filesystem it runs on and of its directory.
// With $FIFO set it writes to it and then hangs, with $HANG set it hangs;
// with $FAIL set it quotes the password on stderr and fails.
const genScript = `#!/bin/sh
set -eu
password=$(sed -n 's/^password: //p' db.yaml)
token=$(sed -n 's/^TOKEN=//p' ../shared/app.env)
region=$(sed -n 's/^REGION_unencrypted=//p' ../shared/app.env)
if [ -n "${FAIL:-}" ]; then echo "refusing $password" >&2; exit 4; fi
if [ -n "${FIFO:-}" ]; then echo started > "$FIFO"; exec sleep 600; fi
if [ -n "${HANG:-}" ]; then exec sleep 600; fi
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
  dir: "$(pwd)"
OBJECTS
`

// sopsRepo writes a repository whose unit cmd reads cmd/db.yaml and, from
// its extraPath shared, shared/app.env, both encrypted for recipient; other
// holds a SOPS file for another key, which the unit does not read.
func sopsRepo(t *testing.T, recipient string) string {
	t.Helper()
	stranger := sopstest.NewAgeKey(t)
	dir := t.TempDir()
	files := map[string][]byte{
		"cmd/gen.sh":       []byte(genScript),
		"cmd/db.yaml":      sopstest.Encrypt(t, "db.yaml", []byte("user: app\npassword: "+dbPassword+"\n"), "", recipient),
		"shared/app.env":   sopstest.Encrypt(t, "app.env", []byte("TOKEN="+apiToken+"\nREGION_unencrypted=eu-west\n"), "", recipient),
		"other/other.yaml": sopstest.Encrypt(t, "other.yaml", []byte("password: other\n"), "", stranger.Recipient),
	}
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, data, mode); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// sopsTree is sops.FS as the engine consumes it (cmd/steward wires the
// same).
type sopsTree struct{ *sops.FS }

func (t sopsTree) Undecrypted() []string {
	var out []string
	for _, e := range t.FS.Undecrypted() {
		out = append(out, e.Error())
	}
	return out
}

var _ reconcile.DecryptingTree = sopsTree{}

// decrypting wraps tree in a decrypting tree with the key file (none when
// ""), passing files no key opens through when allow is set.
func decrypting(t *testing.T, tree fs.FS, keyFile string, allow bool) sopsTree {
	t.Helper()
	opts := sops.DefaultOptions()
	if keyFile != "" {
		opts.AgeKeyFiles = []string{keyFile}
	}
	opts.AllowUndecrypted = allow
	d, err := sops.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return sopsTree{d.FS(tree)}
}

// memoryDir makes a directory on /dev/shm, the only candidate for the work
// tree during t, and returns it.
func memoryDir(t *testing.T) string {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil || uint32(st.Type) != unix.TMPFS_MAGIC {
		testenv.Missing(t, "/dev/shm is not a tmpfs")
	}
	dir, err := os.MkdirTemp("/dev/shm", "steward-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	command.SetMemoryDirs(t, dir)
	return dir
}

func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"sh", "sed", "stat", "sleep", "cat"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "%s not installed", tool)
		}
	}
}

// sopsRequest is the request of unit cmd over tree, checked out at
// localDir ("" for a tree read from git's object store).
func sopsRequest(tree fs.FS, localDir string) reconcile.GenerateRequest {
	return reconcile.GenerateRequest{
		Tree: tree, Dir: "cmd", LocalDir: localDir,
		Unit:     &reconcile.Unit{Name: "cmd", Target: "prod", ExtraPaths: []string{"shared"}},
		Revision: "4f2a9c1",
	}
}

// assertNoFileHolds fails when a file under dirs holds a plaintext.
func assertNoFileHolds(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			for _, s := range []string{dbPassword, apiToken} {
				if strings.Contains(string(b), s) {
					t.Errorf("%s holds a decrypted value", p)
				}
			}
			return nil
		})
	}
}

// assertEmpty fails when dir holds anything: the work tree was left behind.
func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("work tree left in %s: %v", dir, left)
	}
}

// modes are the two ways a command runs: in a checkout, and from a tree
// read from git's object store (materialised).
var modes = []struct {
	name    string
	request func(t *testing.T, repo string, keyFile string, allow bool) (reconcile.GenerateRequest, sopsTree)
}{
	{"checkout", func(t *testing.T, repo, keyFile string, allow bool) (reconcile.GenerateRequest, sopsTree) {
		dt := decrypting(t, os.DirFS(repo), keyFile, allow)
		return sopsRequest(dt, repo), dt
	}},
	{"materialized", func(t *testing.T, repo, keyFile string, allow bool) (reconcile.GenerateRequest, sopsTree) {
		dt := decrypting(t, gentest.MapFS(t, repo), keyFile, allow)
		return sopsRequest(dt, ""), dt
	}},
}

// A command reading SOPS files of its unit and extraPaths runs in a work
// tree on a tmpfs where they are decrypted, removed once it exited; no
// file elsewhere holds a plaintext; the SOPS file it does not read, for
// another key, is left alone.
func TestGenerateSOPSDecryptedInMemory(t *testing.T) {
	needTools(t)
	key := sopstest.NewAgeKey(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			repo := sopsRepo(t, key.Recipient)
			mem := memoryDir(t)
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			req, dt := m.request(t, repo, key.File, false)
			objs, err := command.New(&reconcile.CommandGenerator{Run: []string{"./gen.sh"}}).Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) != 2 {
				t.Fatalf("got %d objects, want 2", len(objs))
			}
			cm, secret := objs[0].Object, objs[1].Object
			if got := secret["stringData"].(map[string]any); got["password"] != dbPassword || got["token"] != apiToken {
				t.Errorf("Secret stringData = %v, want the decrypted values", got)
			}
			data := cm["data"].(map[string]any)
			if data["region"] != "eu-west" || data["fs"] != "tmpfs" || !strings.HasPrefix(data["dir"].(string), mem+"/steward-decrypted-") {
				t.Errorf("ConfigMap data = %v, want region eu-west, run on the tmpfs under %s", data, mem)
			}
			if got := strings.Join(dt.Decrypted(), " "); got != "cmd/db.yaml shared/app.env" {
				t.Errorf("decrypted %q, want cmd/db.yaml and shared/app.env (and not other/other.yaml)", got)
			}
			assertEmpty(t, mem)
			assertNoFileHolds(t, repo, tmp)
		})
	}
}

// The work tree is removed when the command fails, when it hangs past its
// timeout and when the context is cancelled under it.
func TestGenerateSOPSWorkTreeRemoved(t *testing.T) {
	needTools(t)
	key := sopstest.NewAgeKey(t)
	repo := sopsRepo(t, key.Recipient)
	fifo := filepath.Join(t.TempDir(), "started")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		spec *reconcile.CommandGenerator
		// cancel cancels the context once the command started.
		cancel bool
		want   any
	}{
		{"fails", &reconcile.CommandGenerator{Run: []string{"./gen.sh"}, Env: map[string]string{"FAIL": "1"}}, false, new(*exec.ExitError)},
		{"hangs past its timeout", &reconcile.CommandGenerator{Run: []string{"./gen.sh"}, Env: map[string]string{"HANG": "1"},
			Timeout: reconcile.Duration(time.Second)}, false, new(*command.TimeoutError)},
		{"cancelled", &reconcile.CommandGenerator{Run: []string{"./gen.sh"}, Env: map[string]string{"FIFO": fifo}}, true, nil},
	}
	for _, tt := range tests {
		for _, m := range modes {
			t.Run(tt.name+"/"+m.name, func(t *testing.T) {
				mem := memoryDir(t)
				req, _ := m.request(t, repo, key.File, false)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				read := make(chan struct{})
				if tt.cancel {
					go func() {
						// Opening the FIFO blocks until the command opens it;
						// reading ends when it closed it.
						_, _ = os.ReadFile(fifo)
						cancel()
						close(read)
					}()
				}
				_, err := command.New(tt.spec).Generate(ctx, req)
				if tt.cancel {
					// Should the command have failed before it opened the
					// FIFO, open it to let the reader go.
					if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
						f.Close()
					}
					<-read
				}
				if err == nil {
					t.Fatal("no error")
				}
				if tt.want != nil && !errors.As(err, tt.want) {
					t.Errorf("error %v is not a %T", err, tt.want)
				}
				if tt.cancel && !errors.Is(err, context.Canceled) {
					t.Errorf("error %v is not the cancellation", err)
				}
				assertEmpty(t, mem)
			})
		}
	}
}

// Without any key (verify on a pull request) the command runs as without
// SOPS — in the checkout, or a tree materialised on disk — and reads the
// ciphertext; the tree lists the files it did not decrypt.
func TestGenerateSOPSWithoutKeys(t *testing.T) {
	needTools(t)
	key := sopstest.NewAgeKey(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			repo := sopsRepo(t, key.Recipient)
			mem := memoryDir(t)
			req, dt := m.request(t, repo, "", true)
			objs, err := command.New(&reconcile.CommandGenerator{Run: []string{"./gen.sh"}}).Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			secret := objs[1].Object["stringData"].(map[string]any)
			if !strings.HasPrefix(secret["password"].(string), "ENC[AES256_GCM,") {
				t.Errorf("the command read %v, want the ciphertext", secret)
			}
			dir := objs[0].Object["data"].(map[string]any)["dir"].(string)
			if strings.HasPrefix(dir, mem) || (req.LocalDir != "" && dir != filepath.Join(repo, "cmd")) {
				t.Errorf("ran in %s, want the checkout or a temporary directory", dir)
			}
			if len(dt.Decrypted()) != 0 || len(dt.Undecrypted()) != 2 {
				t.Errorf("decrypted %v, not decrypted %v; want none and both", dt.Decrypted(), dt.Undecrypted())
			}
		})
	}
}

// A wrong key fails the unit naming the file, before anything runs.
func TestGenerateSOPSWrongKey(t *testing.T) {
	needTools(t)
	key, other := sopstest.NewAgeKey(t), sopstest.NewAgeKey(t)
	repo := sopsRepo(t, key.Recipient)
	mem := memoryDir(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			req, _ := m.request(t, repo, other.File, false)
			_, err := command.New(&reconcile.CommandGenerator{Run: []string{"./gen.sh"}}).Generate(context.Background(), req)
			if !errors.Is(err, sops.ErrNoKey) || !strings.Contains(err.Error(), "cmd/db.yaml: no key can decrypt it") || strings.Count(err.Error(), "db.yaml") != 1 {
				t.Errorf("err = %v, want cmd/db.yaml named once, as no key opens it", err)
			}
			assertEmpty(t, mem)
		})
	}
}

// Where no memory-backed filesystem is at hand the command does not run,
// and nothing is written to disk instead.
func TestGenerateSOPSNoMemoryFilesystem(t *testing.T) {
	needTools(t)
	key := sopstest.NewAgeKey(t)
	repo := sopsRepo(t, key.Recipient)
	disk, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(disk, &st); err != nil || uint32(st.Type) == unix.TMPFS_MAGIC {
		t.Fatalf("testdata is on a tmpfs (%v): the test needs a directory on disk", err)
	}
	command.SetMemoryDirs(t, "", filepath.Join(repo, "absent"), disk)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			req, _ := m.request(t, repo, key.File, false)
			_, err := command.New(&reconcile.CommandGenerator{Run: []string{"./gen.sh"}}).Generate(context.Background(), req)
			var me *command.MemoryError
			if !errors.As(err, &me) {
				t.Fatalf("err = %v, want a *MemoryError", err)
			}
			for _, want := range []string{"decrypted cmd/db.yaml, shared/app.env", "absent: no such file or directory", disk + ": not tmpfs", "nothing decrypted to disk"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			assertEmpty(t, tmp)
			assertNoFileHolds(t, repo, tmp, disk)
		})
	}
}

// A work tree left by a steward killed while its command ran (its lock
// free) is removed by the next run that decrypts; one whose lock a running
// steward holds is not, nor anything else there.
func TestGenerateSOPSRemovesLeftWorkTrees(t *testing.T) {
	needTools(t)
	key := sopstest.NewAgeKey(t)
	repo := sopsRepo(t, key.Recipient)
	mem := memoryDir(t)
	left, live, other := filepath.Join(mem, "steward-decrypted-left"), filepath.Join(mem, "steward-decrypted-live"), filepath.Join(mem, "other")
	for _, d := range []string{left, live, other} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "db.yaml"), []byte("password: "+dbPassword+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	req, _ := modes[0].request(t, repo, key.File, false)
	if _, err := command.New(&reconcile.CommandGenerator{Run: []string{"./gen.sh"}}).Generate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(left); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the work tree left behind is still there (%v)", err)
	}
	for _, d := range []string{live, other} {
		if _, err := os.Stat(filepath.Join(d, "db.yaml")); err != nil {
			t.Errorf("%s was removed: %v", d, err)
		}
	}
}

// A sensitive input (a secret output) is written for STEWARD_INPUTS only
// to a memory-backed directory, removed after the run; where there is none
// the unit fails and nothing is written.
func TestGenerateSensitiveInputsInMemory(t *testing.T) {
	needTools(t)
	mem := memoryDir(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	const secret = dbPassword // which assertNoFileHolds looks for
	req := request(t, "inputs")
	req.Inputs = reconcile.Inputs{
		"db-host": {Value: secret, Sensitive: true, From: reconcile.InputRef{Unit: "db", Output: "password"}},
		"ip":      {Value: "10.96.0.7", From: reconcile.InputRef{Unit: "svc", Output: "ip"}},
	}
	gen := command.New(&reconcile.CommandGenerator{Run: []string{"./gen.sh"}})
	objs, err := gen.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	data := objs[0].Object["data"].(map[string]any)
	if dir, _ := data["inputsDir"].(string); !strings.HasPrefix(dir, mem+string(filepath.Separator)) || !strings.Contains(data["json"].(string), secret) {
		t.Errorf("STEWARD_INPUTS in %v (want under %s), holding %v", data["inputsDir"], mem, data["json"])
	}
	assertEmpty(t, mem)
	assertEmpty(t, tmp)

	disk, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	command.SetMemoryDirs(t, disk)
	if _, err := gen.Generate(context.Background(), req); err == nil || !strings.Contains(err.Error(), "sensitive inputs may only be written to a memory-backed directory") || strings.Contains(err.Error(), secret) {
		t.Errorf("sensitive inputs without a memory-backed directory: %v", err)
	}
	assertEmpty(t, tmp)
	assertNoFileHolds(t, disk)
}
