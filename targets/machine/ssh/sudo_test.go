package ssh

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv"
	"github.com/stewardhq/steward/deploy/testenv/sshd"
	"github.com/stewardhq/steward/targets/machine"
)

// TestSudo needs passwordless sudo for the test user on this machine (root
// always has it; Debian's sudo package is installed by the test set-up).
func TestSudo(t *testing.T) {
	if _, err := exec.LookPath("sudo"); err != nil {
		testenv.Missing(t, "sudo: %v", err)
	}
	if err := exec.Command("sudo", "-n", "true").Run(); err != nil {
		testenv.Missing(t, "the test user has no passwordless sudo: %v", err)
	}
	h := startHosts(t, 1)[0]
	tr := dialHost(t, h, func(c *Config) { c.Sudo = true })
	ctx := context.Background()

	res, err := tr.Run(ctx, machine.Cmd{Argv: []string{"sh", "-c", `printf '%s %s' "$(id -u)" "$SUDO_USER"`}, Env: map[string]string{"X": "y"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("run: %+v, %v", res, err)
	}
	if want := "0 " + h.User; string(res.Stdout) != want {
		t.Fatalf("command ran as %q, want %q (uid 0 through sudo)", res.Stdout, want)
	}
	res, err = tr.Run(ctx, machine.Cmd{Argv: []string{"printf", "%s", "a 'b'; c"}})
	if err != nil || string(res.Stdout) != "a 'b'; c" {
		t.Fatalf("argv through sudo: %q, %v", res.Stdout, err)
	}

	p := filepath.Join(h.Root, "owned")
	if err := tr.WriteFile(ctx, p, strings.NewReader("root\n"), machine.FileAttrs{Mode: 0o600, UID: 0, GID: 0}); err != nil {
		t.Fatal(err)
	}
	assertLocal(t, p, 0o600, 0, 0)
	if b, err := tr.ReadFile(ctx, p); err != nil || string(b) != "root\n" {
		t.Fatalf("read back: %q, %v", b, err)
	}
	// The sftp-server runs under sudo: its parent is a sudo process.
	res, err = tr.Run(ctx, machine.Cmd{Argv: []string{"sh", "-c", "for p in $(pgrep -x sftp-server); do ps -o comm= -p $(ps -o ppid= -p $p); done"}})
	if err != nil || !strings.Contains(string(res.Stdout), "sudo") {
		t.Errorf("sftp-server parents are %q, %v: want sudo", res.Stdout, err)
	}
}

func TestSudoRefusedIsClear(t *testing.T) {
	shims := t.TempDir()
	// A sudo that wants a password, as on a host without NOPASSWD.
	script := "#!/bin/sh\necho 'sudo: a password is required' >&2\nexit 1\n"
	if err := os.WriteFile(filepath.Join(shims, "sudo"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	opts := sshd.DefaultOptions()
	opts.PathPrefix = []string{shims}
	h := sshd.ForTest(t, 1, opts)[0]
	_, err := Dial(context.Background(), hostConfig(h, func(c *Config) { c.Sudo = true }))
	if err == nil || !strings.Contains(err.Error(), "a password is required") || !strings.Contains(err.Error(), "sudo -n") {
		t.Fatalf("err = %v, want the sudo refusal named", err)
	}
}
