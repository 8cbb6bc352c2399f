package sshd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/stewardhq/steward/deploy/testenv"
)

// sshClient runs the OpenSSH client against h with strict host key checking.
func sshClient(t *testing.T, h *Host, args ...string) (string, error) {
	t.Helper()
	return sshClientKH(t, h, h.KnownHostsPath, args...)
}

func sshClientKH(t *testing.T, h *Host, knownHosts string, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("ssh")
	if err != nil {
		testenv.Missing(t, "openssh-client: %v", err)
	}
	base := []string{"-F", "none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + knownHosts, "-o", "IdentitiesOnly=yes", "-i", h.ClientKeyPath,
		"-p", strconv.Itoa(h.Port), "-l", h.User, "127.0.0.1"}
	out, err := exec.Command(bin, append(base, args...)...).CombinedOutput()
	return string(out), err
}

func TestStartLoginAndKnownHosts(t *testing.T) {
	hosts := ForTest(t, 2, DefaultOptions())
	for _, h := range hosts {
		out, err := sshClient(t, h, "echo", "hello")
		if err != nil || strings.TrimSpace(out) != "hello" {
			t.Fatalf("%s: ssh echo = %q, %v", h.Addr, out, err)
		}
		if _, err := os.Stat(h.Root); err != nil {
			t.Errorf("root prefix: %v", err)
		}
		if !strings.HasPrefix(h.HostKeyFingerprint, "SHA256:") {
			t.Errorf("fingerprint %q", h.HostKeyFingerprint)
		}
		if got := h.Accepted(); got != 1 {
			t.Errorf("%s: accepted %d connections, want 1", h.Addr, got)
		}
	}
	if hosts[0].Port == hosts[1].Port || hosts[0].HostKeyFingerprint == hosts[1].HostKeyFingerprint {
		t.Fatal("hosts share a port or a host key")
	}
	if hosts[0].ClientKeyPath != hosts[1].ClientKeyPath {
		t.Error("StartN hosts should share one client key")
	}
}

func TestWrongKnownHostRefusedByOpenSSH(t *testing.T) {
	hosts := ForTest(t, 2, DefaultOptions())
	// hosts[1] presents a key known_hosts lists for hosts[0]'s address only.
	kh := filepath.Join(t.TempDir(), "known_hosts")
	line := strings.Replace(hosts[0].KnownHostsLine, hosts[0].Addr, hosts[1].Addr, 1)
	line = strings.Replace(line, "[127.0.0.1]:"+strconv.Itoa(hosts[0].Port), "[127.0.0.1]:"+strconv.Itoa(hosts[1].Port), 1)
	if err := os.WriteFile(kh, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := sshClientKH(t, hosts[1], kh, "true"); err == nil {
		t.Fatalf("ssh accepted a changed host key: %s", out)
	}
}

func TestPathPrefixShims(t *testing.T) {
	shims := t.TempDir()
	script := "#!/bin/sh\necho shim \"$@\"\n"
	if err := os.WriteFile(filepath.Join(shims, "systemctl"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.PathPrefix = []string{shims}
	h := ForTest(t, 1, opts)[0]
	out, err := sshClient(t, h, "systemctl", "restart", "x.service")
	if err != nil || strings.TrimSpace(out) != "shim restart x.service" {
		t.Fatalf("shim not first on PATH: %q, %v", out, err)
	}
	// sftp still works through the wrapper.
	sftp, err := exec.LookPath("sftp")
	if err != nil {
		testenv.Missing(t, "openssh-client sftp: %v", err)
	}
	cmd := exec.Command(sftp, "-F", "none", "-b", "-", "-o", "BatchMode=yes", "-o", "UserKnownHostsFile="+h.KnownHostsPath,
		"-i", h.ClientKeyPath, "-P", strconv.Itoa(h.Port), h.User+"@127.0.0.1")
	cmd.Stdin = strings.NewReader("mkdir " + filepath.Join(h.Root, "viasftp") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sftp: %v: %s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(h.Root, "viasftp")); err != nil || !fi.IsDir() {
		t.Fatalf("sftp mkdir did not happen: %v", err)
	}
}

func TestKillAndRestart(t *testing.T) {
	h := ForTest(t, 1, DefaultOptions())[0]
	if err := h.Restart(context.Background()); err == nil {
		t.Fatal("Restart of a running host should fail")
	}
	if err := h.Kill(); err != nil {
		t.Fatal(err)
	}
	// An SSH login, not a bare dial: with every package's tests running at
	// once, another listener may take the freed port the moment sshd dies.
	if out, err := sshClient(t, h, "true"); err == nil {
		t.Fatalf("killed host still logs in: %s", out)
	}
	if err := h.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out, err := sshClient(t, h, "true"); err != nil {
		t.Fatalf("after restart: %v: %s", err, out)
	}
}

func TestTwoHostKeys(t *testing.T) {
	opts := DefaultOptions()
	opts.HostKeyTypes = []string{"ed25519", "ecdsa"}
	h := ForTest(t, 1, opts)[0]
	if len(h.HostKeys) != 2 || h.HostKeys[1].Type() != "ecdsa-sha2-nistp256" {
		t.Fatalf("host keys %v", h.HostKeys)
	}
	// OpenSSH negotiates the type known_hosts lists: the ecdsa key alone.
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(knownhosts.Line([]string{h.Addr}, h.HostKeys[1])+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := sshClientKH(t, h, kh, "true"); err != nil {
		t.Fatalf("ssh with the ecdsa key known: %v: %s", err, out)
	}
}

func TestMissingSSHD(t *testing.T) {
	opts := DefaultOptions()
	opts.SSHD = filepath.Join(t.TempDir(), "no-sshd")
	_, err := Start(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
}
