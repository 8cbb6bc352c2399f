package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	"github.com/stewardhq/steward/deploy/testenv/sshd"
)

// TestPackagesOverSSH: a package repository reached over ssh:// (git run
// by Debian's sshd) with --git-ssh-key and --git-known-hosts, which every
// verb takes: packages update locks it, verify and build generate from it.
// Without the key the resolution fails naming the repository.
func TestPackagesOverSSH(t *testing.T) {
	host := sshd.ForTest(t, 1, sshd.DefaultOptions())[0]
	pkgRepo := gitserver.NewLocalRepo(t)
	pkgRepo.Commit(t, "greeter", greeterFiles)
	head := pkgRepo.Tag(t, "greeter/v1.2.0", false)
	url := "ssh://" + host.User + "@" + host.Addr + pkgRepo.Bare

	stack := gitRepo(t)
	st := strings.NewReplacer("URL", url, "OUT", t.TempDir(), "  cluster: {kubernetes: {}}\n", "").Replace(consumerStack(`version: ">=1.2 <2"`, "{greeting: hi}"))
	commitFiles(t, stack, "stack", map[string]string{"steward.yaml": st})
	cache := t.TempDir()
	ssh := []string{"--git-ssh-key", host.ClientKeyPath, "--git-known-hosts", host.KnownHostsPath}

	code, out, errOut := runIn(t, cache, "packages", "update", "-C", stack)
	if code != 1 || !strings.Contains(out+errOut, "unit greet") {
		t.Fatalf("update without the SSH key: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runIn(t, cache, append([]string{"packages", "update", "-C", stack}, ssh...)...)
	lock, _ := os.ReadFile(filepath.Join(stack, "steward.lock"))
	if code != 0 || !strings.Contains(string(lock), "commit: "+head) {
		t.Fatalf("update over ssh: exit %d\n%s%s\nlock:\n%s", code, out, errOut, lock)
	}
	commitFiles(t, stack, "lock", nil)
	code, out, errOut = runIn(t, t.TempDir(), append([]string{"verify", "-C", stack}, ssh...)...)
	if code != 0 || !strings.Contains(out, "package: unit greet: greeter v1.2.0 ("+head[:12]) {
		t.Fatalf("verify over ssh: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runIn(t, t.TempDir(), append([]string{"build", "-C", stack}, ssh...)...)
	if code != 0 || !strings.Contains(out, "hi x1") {
		t.Fatalf("build over ssh: exit %d\n%s%s", code, out, errOut)
	}
}
