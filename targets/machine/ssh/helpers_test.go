package ssh

import (
	"context"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv/sshd"
)

// dialHost connects to a test host with its known_hosts and client key;
// edit adjusts the config first.
func dialHost(t testing.TB, h *sshd.Host, edit func(*Config)) *Transport {
	t.Helper()
	tr, err := Dial(context.Background(), hostConfig(h, edit))
	if err != nil {
		t.Fatalf("dial %s: %v", h.Addr, err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func hostConfig(h *sshd.Host, edit func(*Config)) Config {
	cfg := DefaultConfig()
	cfg.Addr = h.Addr
	cfg.User = h.User
	cfg.KeyFile = h.ClientKeyPath
	cfg.KnownHostsFile = h.KnownHostsPath
	cfg.Timeout = 30 * time.Second
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

func startHosts(t testing.TB, n int) []*sshd.Host {
	t.Helper()
	return sshd.ForTest(t, n, sshd.DefaultOptions())
}
