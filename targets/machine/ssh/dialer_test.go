package ssh

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/targets/machine"
)

func TestDialer(t *testing.T) {
	hosts := startHosts(t, 2)
	creds := t.TempDir()
	key, err := os.ReadFile(hosts[0].ClientKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, "web-ssh"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	base := DefaultConfig()
	base.User = hosts[0].User
	base.KeyFile = "web-ssh"
	dial := Dialer(base, creds, hosts[0].KnownHostsPath)
	ctx := context.Background()
	for _, h := range hosts {
		tr, err := dial(ctx, h.Addr)
		if err != nil {
			t.Fatalf("dial %s: %v", h.Addr, err)
		}
		if tr.Host() != h.Addr {
			t.Errorf("Host() = %q, want %q", tr.Host(), h.Addr)
		}
		res, err := tr.Run(ctx, machine.Cmd{Argv: []string{"true"}})
		if err != nil || res.ExitCode != 0 {
			t.Fatalf("run: %+v %v", res, err)
		}
		tr.Close()
	}
	for _, name := range []string{"../web-ssh", "sub/web-ssh", "..", "missing"} {
		b := base
		b.KeyFile = name
		if tr, err := Dialer(b, creds, hosts[0].KnownHostsPath)(ctx, hosts[0].Addr); err == nil {
			tr.Close()
			t.Errorf("credentials %q accepted", name)
		} else if strings.Contains(err.Error(), "BEGIN") {
			t.Errorf("error quotes key material: %v", err)
		}
	}
}
