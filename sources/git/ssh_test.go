package git

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	"github.com/stewardhq/steward/deploy/testenv/sshd"
)

// TestPollOverSSH follows a repository over ssh:// served by Debian's sshd
// (git-upload-pack run by the SSH session), with the host key checked
// against known_hosts.
func TestPollOverSSH(t *testing.T) {
	host := sshd.ForTest(t, 1, sshd.DefaultOptions())[0]
	repo := gitserver.NewLocalRepo(t)
	first := repo.Commit(t, "first", map[string]string{"steward.yaml": "kind: Stack\n"})
	url := "ssh://" + host.User + "@" + host.Addr + repo.Bare

	s := newSource(t, SourceOptions{URL: url, Depth: 1, Auth: Auth{SSHKeyFile: host.ClientKeyPath, KnownHostsFile: host.KnownHostsPath}})
	rev := poll(t, s)
	if rev.ID != first || readFile(t, rev, "steward.yaml") != "kind: Stack\n" {
		t.Fatalf("first poll: %s, want %s", rev.ID, first)
	}
	accepted := host.Accepted()
	second := repo.Commit(t, "second", map[string]string{"steward.yaml": "kind: Stack # 2\n"})
	if rev := poll(t, s); rev.ID != second || !s.Status().Fetched {
		t.Fatalf("second poll: %s (fetched %v), want %s", rev.ID, s.Status().Fetched, second)
	}
	if host.Accepted() <= accepted {
		t.Fatal("the second poll did not go over SSH")
	}

	// An unknown host key is refused, naming the key; nothing is fetched.
	empty := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := newSource(t, SourceOptions{URL: url, Auth: Auth{SSHKeyFile: host.ClientKeyPath, KnownHostsFile: empty}})
	_, err := bad.Poll(context.Background())
	var re *RemoteError
	if err == nil || !errors.As(err, &re) || !strings.Contains(err.Error(), "host key") {
		t.Fatalf("unknown host key: %v", err)
	}

	// Without a known_hosts file there is no way to trust the host.
	if _, err := NewSource(SourceOptions{URL: url, CacheDir: t.TempDir(), Auth: Auth{SSHKeyFile: host.ClientKeyPath}}); err == nil {
		t.Fatal("ssh:// without known_hosts was accepted")
	}
}
