package git

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/stewardhq/steward/deploy/testenv"
	"github.com/stewardhq/steward/deploy/testenv/gitserver"
)

// TestCommitSignedSSHKeyTypes signs commits with each SSH key type
// ssh-keygen makes and verifies them with steward's own verifier and with
// git's (git log --show-signature through ssh-keygen -Y verify).
func TestCommitSignedSSHKeyTypes(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		testenv.Missing(t, "ssh-keygen not found in PATH")
	}
	srv := gitserver.Start(t, gitserver.Options{})
	repo := srv.NewRepo(t, "signed")
	repo.Commit(t, "base", map[string]string{"a.txt": "a\n"})
	for _, kt := range []string{"ed25519", "rsa", "ecdsa"} {
		t.Run(kt, func(t *testing.T) {
			key := filepath.Join(t.TempDir(), "id")
			if out, err := exec.Command("ssh-keygen", "-q", "-t", kt, "-N", "", "-C", "bot@x", "-f", key).CombinedOutput(); err != nil {
				t.Fatalf("ssh-keygen: %v\n%s", err, out)
			}
			priv, err := os.ReadFile(key)
			if err != nil {
				t.Fatal(err)
			}
			pub, _ := os.ReadFile(key + ".pub")
			f := strings.Fields(string(pub))
			allowed := "bot@x namespaces=\"git\" " + f[0] + " " + f[1] + "\n"
			signer, err := NewCommitSigner(priv)
			if err != nil {
				t.Fatal(err)
			}
			s := newSource(t, SourceOptions{URL: repo.URL})
			poll(t, s)
			id, err := s.Commit(t.Context(), CommitOptions{Branch: "main", Message: "signed " + kt, Author: object.Signature{Name: "bot", Email: "bot@x"},
				Files: map[string][]byte{"a.txt": []byte(kt + "\n")}, Signer: signer})
			if err != nil {
				t.Fatal(err)
			}
			v, err := NewVerifier(VerifyOptions{AllowedSigners: allowed})
			if err != nil {
				t.Fatal(err)
			}
			if who, err := s.Repository().Verify(t.Context(), id, v); err != nil || who.Identity != "bot@x" {
				t.Fatalf("verify = %+v, %v", who, err)
			}
			if err := s.Push(t.Context(), "refs/heads/main:refs/heads/main"); err != nil {
				t.Fatal(err)
			}
			signers := filepath.Join(t.TempDir(), "allowed")
			if err := os.WriteFile(signers, []byte(allowed), 0o644); err != nil {
				t.Fatal(err)
			}
			out := repo.GitBare(t, "-c", "gpg.ssh.allowedSignersFile="+signers, "log", "-1", "--format=%G?", id)
			if out != "G" {
				t.Fatalf("git says %q for the signature, want G (good)", out)
			}
		})
	}
}
