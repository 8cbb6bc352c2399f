package ssh

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv"
)

// TestEncryptedKeyFile: a passphrase-protected key (made by ssh-keygen)
// works with its passphrase; without it or with a wrong one the error names
// the file and never the passphrase.
func TestEncryptedKeyFile(t *testing.T) {
	keygen, err := exec.LookPath("ssh-keygen")
	if err != nil {
		testenv.Missing(t, "ssh-keygen: %v", err)
	}
	h := startHosts(t, 1)[0]
	key := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "correct horse", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	// Authorize it next to the host's own client key.
	pub, _ := os.ReadFile(key + ".pub")
	f, err := os.OpenFile(h.ClientKeyPath+".pub", os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(pub)
	f.Close()

	tr, err := Dial(context.Background(), hostConfig(h, func(c *Config) { c.KeyFile = key; c.Passphrase = []byte("correct horse") }))
	if err != nil {
		t.Fatalf("dial with passphrase: %v", err)
	}
	tr.Close()
	for _, pass := range []string{"", "wrong battery"} {
		_, err := Dial(context.Background(), hostConfig(h, func(c *Config) { c.KeyFile = key; c.Passphrase = []byte(pass) }))
		if err == nil {
			t.Fatalf("dial with passphrase %q succeeded", pass)
		}
		if !strings.Contains(err.Error(), key) || pass != "" && strings.Contains(err.Error(), pass) {
			t.Errorf("passphrase %q: err = %v", pass, err)
		}
	}
}

// TestAgent authenticates with the key held by a real ssh-agent.
func TestAgent(t *testing.T) {
	agentBin, err1 := exec.LookPath("ssh-agent")
	addBin, err2 := exec.LookPath("ssh-add")
	if err := errors.Join(err1, err2); err != nil {
		testenv.Missing(t, "ssh-agent: %v", err)
	}
	h := startHosts(t, 1)[0]
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command(agentBin, "-D", "-a", sock)
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Process.Kill(); agent.Wait() })
	for i := 0; ; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if i > 500 {
			t.Fatal("ssh-agent did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	// Without the key loaded the agent offers nothing: refused.
	_, err := Dial(context.Background(), hostConfig(h, func(c *Config) { c.KeyFile = ""; c.UseAgent = true }))
	var authErr *AuthError
	if !errors.As(err, &authErr) || !strings.Contains(err.Error(), "agent") {
		t.Fatalf("empty agent: err = %v, want an AuthError naming the agent", err)
	}
	if out, err := exec.Command(addBin, h.ClientKeyPath).CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v: %s", err, out)
	}
	tr, err := Dial(context.Background(), hostConfig(h, func(c *Config) { c.KeyFile = ""; c.UseAgent = true }))
	if err != nil {
		t.Fatalf("dial with agent: %v", err)
	}
	tr.Close()

	t.Setenv("SSH_AUTH_SOCK", "")
	if _, err := Dial(context.Background(), hostConfig(h, func(c *Config) { c.KeyFile = ""; c.UseAgent = true })); err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK") {
		t.Fatalf("no agent: err = %v", err)
	}
}
