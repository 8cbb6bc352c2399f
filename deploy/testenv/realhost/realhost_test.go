package realhost

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// login runs cmd on h over SSH, checking the host key against its
// known_hosts file.
func login(t *testing.T, h *Host, cmd string) (string, error) {
	t.Helper()
	pem, err := os.ReadFile(h.ClientKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	hk, err := knownhosts.New(h.KnownHostsPath)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", h.Addr, &ssh.ClientConfig{User: h.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: hk, Timeout: 10 * time.Second})
	if err != nil {
		return "", err
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return string(out), err
}

// TestBootTwoHosts boots two guests at once and checks what makes them real
// hosts: systemd is PID 1 and running, each answers SSH on its own port with
// its own host key and hostname, and a poweroff and boot keep its state.
func TestBootTwoHosts(t *testing.T) {
	begin := time.Now()
	hosts := ForTest(t, 2, DefaultOptions())
	t.Logf("booted 2 hosts in %s", time.Since(begin).Round(time.Millisecond))
	ctx := context.Background()
	if hosts[0].Port == hosts[1].Port || hosts[0].HostKeyFingerprint == hosts[1].HostKeyFingerprint || hosts[0].Name == hosts[1].Name {
		t.Fatal("hosts share a port, a host key or a name")
	}
	for _, h := range hosts {
		out, err := login(t, h, "cat /proc/1/comm; hostname; systemctl is-system-running --wait; id -u")
		if err != nil {
			t.Fatalf("%s: ssh: %v: %s", h.Name, err, out)
		}
		want := "systemd\n" + h.Name + "\nrunning\n0\n"
		if out != want {
			t.Errorf("%s: got %q, want %q\nconsole:\n%s", h.Name, out, want, h.Console())
		}
		if out, err := h.Exec(ctx, "cat", "/etc/hostname"); err != nil || strings.TrimSpace(out) != h.Name {
			t.Errorf("%s: exec hostname = %q, %v", h.Name, out, err)
		}
	}

	// A file written over SSH survives a clean poweroff and a boot; the
	// other host never sees it.
	h := hosts[0]
	if out, err := login(t, h, "echo kept > /root/state"); err != nil {
		t.Fatalf("write: %v %s", err, out)
	}
	begin = time.Now()
	if err := h.PowerOff(); err != nil {
		t.Fatalf("poweroff: %v", err)
	}
	t.Logf("poweroff in %s", time.Since(begin).Round(time.Millisecond))
	if h.Running() {
		t.Fatal("still running after PowerOff")
	}
	if !strings.Contains(h.Console(), "Halting system") && !strings.Contains(h.Console(), "Powering off") {
		t.Errorf("no clean shutdown on the console:\n%s", h.Console())
	}
	begin = time.Now()
	if err := h.Boot(ctx); err != nil {
		t.Fatalf("boot again: %v", err)
	}
	t.Logf("boot again in %s", time.Since(begin).Round(time.Millisecond))
	if out, err := login(t, h, "cat /root/state"); err != nil || out != "kept\n" {
		t.Errorf("after reboot: %q, %v", out, err)
	}
	if out, err := login(t, hosts[1], "test -e /root/state && echo shared || echo separate"); err != nil || out != "separate\n" {
		t.Errorf("other host: %q, %v", out, err)
	}
}

// TestStopLeavesNothing: after Stop no process of the guest and no cgroup
// directory is left, and its directory is gone.
func TestStopLeavesNothing(t *testing.T) {
	opts := DefaultOptions()
	opts.Dir = t.TempDir()
	opts.StopTimeout = 3 * time.Second // the process below keeps the poweroff waiting
	hs, err := StartN(context.Background(), 1, opts)
	Require(t, err)
	h := hs[0]
	h.mu.Lock()
	cgroups := append([]string(nil), h.cgroups...)
	h.mu.Unlock()
	if len(cgroups) == 0 || len(cgroupPids(cgroups[0])) == 0 {
		t.Fatalf("guest has no processes in its cgroups %v", cgroups)
	}
	// A process that ignores SIGTERM must not keep the guest alive.
	if _, err := login(t, h, "nohup sh -c 'trap \"\" TERM; sleep 1000' >/dev/null 2>&1 &"); err != nil {
		t.Fatal(err)
	}
	if err := h.Stop(); err != nil {
		t.Logf("stop: %v", err)
	}
	for _, cg := range cgroups {
		if _, err := os.Stat(cg); !os.IsNotExist(err) {
			t.Errorf("cgroup %s left behind (%v): pids %v", cg, err, cgroupPids(cg))
		}
	}
	if _, err := os.Stat(h.Dir); !os.IsNotExist(err) {
		t.Errorf("host dir left: %v", err)
	}
	if banner(h.Addr) {
		t.Errorf("sshd still answers on %s", h.Addr)
	}
}

func TestHostMirror(t *testing.T) {
	suite, mirror, err := hostMirror()
	if err != nil {
		t.Skipf("no apt sources here: %v", err)
	}
	if suite == "" || !strings.Contains(mirror, "://") || strings.Contains(mirror, "security") {
		t.Fatalf("suite %q mirror %q", suite, mirror)
	}
}

func TestSignedBy(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Types: deb\nURIs: http://x/debian\nSigned-By: /usr/share/keyrings/a.gpg\n", "/usr/share/keyrings/a.gpg"},
		{"deb [arch=amd64 signed-by=/etc/apt/keyrings/b.gpg] http://x/ stable main\n", "/etc/apt/keyrings/b.gpg"},
		{"# deb [signed-by=/c.gpg] http://x/ stable main\n", ""},
	}
	for _, c := range cases {
		if got := strings.Join(signedBy([]byte(c.in)), ","); got != c.want {
			t.Errorf("signedBy(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
