package git

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
)

// tamper rewrites HEAD's message keeping its signature, which then no
// longer matches, and pushes it.
func tamper(t *testing.T, r *gitserver.Repo) string {
	t.Helper()
	obj := r.Git(t, "cat-file", "commit", "HEAD") + "\n"
	head, msg, _ := strings.Cut(obj, "\n\n")
	f := filepath.Join(t.TempDir(), "commit")
	if err := os.WriteFile(f, []byte(head+"\n\ntampered "+msg), 0o644); err != nil {
		t.Fatal(err)
	}
	id := r.Git(t, "hash-object", "-t", "commit", "-w", f)
	r.Git(t, "reset", "-q", "--soft", id)
	r.Push(t)
	return id
}

func TestPollSignatures(t *testing.T) {
	trustedPGP := gitserver.NewGPGKey(t, "Trusted", "trusted@steward.invalid")
	otherPGP := gitserver.NewGPGKey(t, "Other", "other@steward.invalid")
	trustedSSH := gitserver.NewSSHKey(t, "trusted@steward.invalid")
	otherSSH := gitserver.NewSSHKey(t, "other@steward.invalid")

	srv := gitserver.Start(t, gitserver.Options{})
	repo := srv.NewRepo(t, "signed")
	s := newSource(t, SourceOptions{URL: repo.URL, Depth: 1, Verify: &VerifyOptions{
		OpenPGPKeyRing: trustedPGP.PublicArmored,
		AllowedSigners: "# trusted signers\n" + trustedSSH.AllowedSigners + "\n",
	}})

	type step struct {
		name    string
		commit  func() string
		wantErr error
		msg     string // in the error, or the signer's format when accepted
	}
	files := func(v string) map[string]string { return map[string]string{"f": v} }
	steps := []step{
		{"unsigned", func() string { return repo.Commit(t, "unsigned", files("0")) }, ErrUnsigned, "not signed"},
		{"openpgp trusted", func() string { return repo.CommitSignedGPG(t, trustedPGP, "pgp ok", files("1")) }, nil, "openpgp"},
		{"openpgp untrusted", func() string { return repo.CommitSignedGPG(t, otherPGP, "pgp other", files("2")) }, ErrUntrustedKey,
			"not trusted (openpgp key " + otherPGP.Fingerprint},
		{"openpgp bad signature", func() string {
			repo.CommitSignedGPG(t, trustedPGP, "pgp", files("3"))
			return tamper(t, repo)
		}, ErrBadSignature, "bad signature (openpgp"},
		{"ssh trusted", func() string { return repo.CommitSignedSSH(t, trustedSSH, "ssh ok", files("4")) }, nil, "ssh"},
		{"ssh untrusted", func() string { return repo.CommitSignedSSH(t, otherSSH, "ssh other", files("5")) }, ErrUntrustedKey,
			"not trusted (ssh key SHA256:"},
		{"ssh bad signature", func() string {
			repo.CommitSignedSSH(t, trustedSSH, "ssh", files("6"))
			return tamper(t, repo)
		}, ErrBadSignature, "bad signature (ssh key SHA256:"},
	}
	for _, st := range steps {
		id := st.commit()
		rev, err := s.Poll(t.Context())
		if st.wantErr == nil {
			if err != nil {
				t.Fatalf("%s: poll: %v", st.name, err)
			}
			if rev.ID != id || s.Status().Signer == nil || s.Status().Signer.Format != st.msg {
				t.Fatalf("%s: poll = %s signer %+v, want %s", st.name, rev.ID, s.Status().Signer, id)
			}
			continue
		}
		var se *SignatureError
		if !errors.Is(err, st.wantErr) || !errors.As(err, &se) || se.Commit != id {
			t.Fatalf("%s: poll error = %v, want %v for %s", st.name, err, st.wantErr, id)
		}
		if !strings.Contains(err.Error(), st.msg) || !strings.Contains(err.Error(), id[:12]) {
			t.Fatalf("%s: error %q does not say %q", st.name, err, st.msg)
		}
		// The refusal stands, and nothing is fetched again.
		srv.ResetCounts()
		if _, err2 := s.Poll(t.Context()); !errors.Is(err2, st.wantErr) {
			t.Fatalf("%s: unchanged poll after refusal = %v", st.name, err2)
		}
		if c := srv.Counts(); c.Packs != 0 || c.RefAdvertisements != 1 {
			t.Fatalf("%s: unchanged refused poll requests = %+v", st.name, c)
		}
	}
}

func TestRepositoryVerify(t *testing.T) {
	k := gitserver.NewSSHKey(t, "dev@steward.invalid")
	repo := gitserver.NewLocalRepo(t)
	id := repo.CommitSignedSSH(t, k, "signed", nil)
	r, err := Open(t.Context(), repo.Work)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(VerifyOptions{AllowedSigners: k.AllowedSigners})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := r.Verify(t.Context(), id, v)
	if err != nil || signer.Identity != "dev@steward.invalid" || !strings.HasPrefix(signer.KeyID, "SHA256:") {
		t.Fatalf("Verify = %+v, %v", signer, err)
	}

	// Namespaces and validity windows of allowed_signers are honoured.
	f := strings.Fields(k.Public)
	for _, line := range []string{
		`dev@steward.invalid namespaces="file" ` + f[0] + " " + f[1],
		`dev@steward.invalid valid-before="20000101" ` + f[0] + " " + f[1],
		`dev@steward.invalid valid-after="29990101Z" ` + f[0] + " " + f[1],
		`dev@steward.invalid cert-authority ` + f[0] + " " + f[1],
	} {
		v, err := NewVerifier(VerifyOptions{AllowedSigners: line})
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if _, err := r.Verify(t.Context(), id, v); !errors.Is(err, ErrUntrustedKey) {
			t.Errorf("%s: Verify = %v, want untrusted", line, err)
		}
	}
}

func TestParseAllowedSigners(t *testing.T) {
	const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkJi1Rg2hMt0cRa1yvdb1pIfSgGTdLGO4OUU94lKBsq"
	tests := []struct {
		name, in   string
		principals []string
		namespaces []string
		err        string
	}{
		{name: "plain", in: "a@x " + key + " comment", principals: []string{"a@x"}},
		{name: "several principals", in: "a@x,b@x " + key, principals: []string{"a@x", "b@x"}},
		{name: "quoted principals", in: `"a@x,b@x" ` + key, principals: []string{"a@x", "b@x"}},
		{name: "namespaces", in: `a@x namespaces="git,file" ` + key, principals: []string{"a@x"}, namespaces: []string{"git", "file"}},
		{name: "comments and blanks", in: "# c\n\n  a@x " + key, principals: []string{"a@x"}},
		{name: "no key", in: "a@x", err: "line 1: want: principals"},
		{name: "bad key", in: "\na@x ssh-ed25519 !!!", err: "line 2: key"},
		{name: "unknown option", in: `a@x foo="bar" ` + key, err: `unknown option "foo"`},
		{name: "bad time", in: `a@x valid-after="yesterday" ` + key, err: "valid-after"},
		{name: "unterminated quote", in: `"a@x ` + key, err: "want: principals"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAllowedSigners([]byte(tc.in))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || strings.Join(got[0].Principals, " ") != strings.Join(tc.principals, " ") ||
				strings.Join(got[0].Namespaces, " ") != strings.Join(tc.namespaces, " ") {
				t.Fatalf("got %+v", got)
			}
		})
	}
}

func FuzzParseAllowedSigners(f *testing.F) {
	f.Add([]byte("a@x namespaces=\"git\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHkJi1Rg2hMt0cRa1yvdb1pIfSgGTdLGO4OUU94lKBsq c\n"))
	f.Add([]byte(`"a b" valid-after="20200101Z" ssh-rsa AAAA`))
	f.Fuzz(func(t *testing.T, data []byte) {
		signers, err := ParseAllowedSigners(data)
		if err == nil {
			for _, s := range signers {
				if s.Key == nil || len(s.Principals) == 0 {
					t.Fatalf("accepted an entry without key or principals: %+v", s)
				}
			}
		}
	})
}

func FuzzParseSSHSignature(f *testing.F) {
	f.Add([]byte(sshSigBegin + "\nU1NIU0lHAAAAAQ==\n" + sshSigEnd))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sig, err := ParseSSHSignature(data)
		if err == nil && (sig.PublicKey == nil || sig.Signature == nil) {
			t.Fatal("parsed a signature without key or signature")
		}
		if err == nil {
			_ = sig.VerifyMessage(gitNS, data) // must not panic
		}
	})
}
