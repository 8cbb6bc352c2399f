package gitserver

import (
	"os/exec"
	"strings"
	"testing"
)

func TestServerCountsAndAuth(t *testing.T) {
	s := Start(t, Options{User: "alice", Password: "s3cret"})
	r := s.NewRepo(t, "app")
	head := r.Commit(t, "first", map[string]string{"a.txt": "a\n"})

	u := strings.Replace(r.URL, "http://", "http://alice:s3cret@", 1)
	out, err := exec.Command("git", "ls-remote", u, "refs/heads/main").CombinedOutput()
	if err != nil {
		t.Fatalf("ls-remote: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), head) {
		t.Fatalf("ls-remote = %q, want %s", out, head)
	}
	if c := s.Counts(); c.RefAdvertisements != 1 || c.Packs != 0 {
		t.Fatalf("counts after ls-remote = %+v, want 1 advertisement, 0 packs", c)
	}

	bad := strings.Replace(r.URL, "http://", "http://alice:wrong@", 1)
	cmd := exec.Command("git", "ls-remote", bad)
	cmd.Env = append(cmd.Environ(), "GIT_TERMINAL_PROMPT=0")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("ls-remote with a wrong password succeeded: %s", out)
	}
	if c := s.Counts(); c.Unauthorized == 0 {
		t.Fatalf("wrong password not counted as unauthorized: %+v", c)
	}

	s.ResetCounts()
	dir := t.TempDir()
	if out, err := exec.Command("git", "clone", "-q", u, dir).CombinedOutput(); err != nil {
		t.Fatalf("clone: %v\n%s", err, out)
	}
	if c := s.Counts(); c.Packs < 1 {
		t.Fatalf("clone made no pack request: %+v", c)
	}
}

func TestRepoHelpers(t *testing.T) {
	r := NewLocalRepo(t)
	first := r.Commit(t, "first", map[string]string{"run.sh": "#!/bin/sh\n"})
	second := r.Commit(t, "second", map[string]string{"b.txt": "b\n"})
	if got := r.GitBare(t, "rev-parse", "main"); got != second {
		t.Fatalf("bare main = %s, want %s", got, second)
	}
	if mode := r.Git(t, "ls-tree", "HEAD", "run.sh"); !strings.HasPrefix(mode, "100755") {
		t.Fatalf("run.sh not executable: %s", mode)
	}
	r.Tag(t, "v1.0.0", true)
	if got := r.GitBare(t, "rev-parse", "v1.0.0^{commit}"); got != second {
		t.Fatalf("tag = %s, want %s", got, second)
	}
	if got := r.ForcePush(t, "HEAD~1"); got != first {
		t.Fatalf("force push head = %s, want %s", got, first)
	}
	if got := r.GitBare(t, "rev-parse", "main"); got != first {
		t.Fatalf("bare main after force push = %s, want %s", got, first)
	}
}

func TestSignedCommits(t *testing.T) {
	r := NewLocalRepo(t)
	r.Commit(t, "unsigned", nil)

	k := NewGPGKey(t, "Signer", "signer@steward.invalid")
	id := r.CommitSignedGPG(t, k, "pgp", map[string]string{"p.txt": "p\n"})
	if obj := r.Git(t, "cat-file", "commit", id); !strings.Contains(obj, "-----BEGIN PGP SIGNATURE-----") {
		t.Fatalf("commit has no PGP signature:\n%s", obj)
	}
	if !strings.Contains(k.PublicArmored, "BEGIN PGP PUBLIC KEY BLOCK") || k.Fingerprint == "" {
		t.Fatalf("bad key: %+v", k)
	}

	sk := NewSSHKey(t, "signer@steward.invalid")
	id = r.CommitSignedSSH(t, sk, "ssh", map[string]string{"s.txt": "s\n"})
	if obj := r.Git(t, "cat-file", "commit", id); !strings.Contains(obj, "-----BEGIN SSH SIGNATURE-----") {
		t.Fatalf("commit has no SSH signature:\n%s", obj)
	}
}
