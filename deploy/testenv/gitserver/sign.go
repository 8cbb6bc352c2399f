package gitserver

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/stewardhq/steward/deploy/testenv"
)

// GPGKey is a generated OpenPGP signing key.
type GPGKey struct {
	// Fingerprint is the key's fingerprint (upper-case hex).
	Fingerprint string
	// PublicArmored is the armored public key, usable as a keyring.
	PublicArmored string

	home   string          // GNUPGHOME when made by gpg
	entity *openpgp.Entity // when gpg is absent
}

// NewGPGKey generates an ed25519 signing key for name <email>: with gpg in
// a private GNUPGHOME when gpg is installed, else with ProtonMail/go-crypto.
func NewGPGKey(tb testing.TB, name, email string) *GPGKey {
	tb.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		return newGoGPGKey(tb, name, email)
	}
	// gpg-agent's socket path must be short: not under tb.TempDir().
	home, err := os.MkdirTemp("", "gpg")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		tb.Fatal(err)
	}
	k := &GPGKey{home: home}
	tb.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--kill", "all")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
		_ = cmd.Run()
		_ = os.RemoveAll(home)
	})
	k.gpg(tb, "--batch", "--passphrase", "", "--quick-gen-key", name+" <"+email+">", "ed25519", "sign", "never")
	for _, line := range strings.Split(k.gpg(tb, "--with-colons", "--list-keys", email), "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			k.Fingerprint = f[9]
			break
		}
	}
	if k.Fingerprint == "" {
		tb.Fatalf("gpg: no fingerprint for %s", email)
	}
	k.PublicArmored = k.gpg(tb, "--armor", "--export", k.Fingerprint)
	return k
}

func (k *GPGKey) gpg(tb testing.TB, args ...string) string {
	tb.Helper()
	cmd := exec.Command("gpg", append([]string{"--batch", "--no-tty"}, args...)...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+k.home)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tb.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

func newGoGPGKey(tb testing.TB, name, email string) *GPGKey {
	tb.Helper()
	e, err := openpgp.NewEntity(name, "", email, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		tb.Fatalf("generate openpgp key: %v", err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		tb.Fatal(err)
	}
	_ = w.Close()
	return &GPGKey{Fingerprint: strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint)), PublicArmored: buf.String(), entity: e}
}

// CommitSignedGPG is Commit with the commit signed by key.
func (r *Repo) CommitSignedGPG(tb testing.TB, key *GPGKey, msg string, files map[string]string) string {
	tb.Helper()
	r.Write(tb, files)
	if key.entity == nil {
		return r.commit(tb, []string{"GNUPGHOME=" + key.home}, msg,
			"-S"+key.Fingerprint)
	}
	// No gpg: commit unsigned, sign the commit object in Go, replace HEAD.
	r.Git(tb, "add", "-A")
	r.Git(tb, "commit", "-q", "--allow-empty", "-m", msg)
	payload := r.Git(tb, "cat-file", "commit", "HEAD") + "\n"
	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, key.entity, strings.NewReader(payload), nil); err != nil {
		tb.Fatalf("sign commit: %v", err)
	}
	r.replaceHead(tb, payload, sig.String())
	r.Push(tb)
	return r.Head(tb)
}

// replaceHead writes payload with a gpgsig header holding sig and moves the
// current branch to it.
func (r *Repo) replaceHead(tb testing.TB, payload, sig string) {
	tb.Helper()
	head, body, _ := strings.Cut(payload, "\n\n")
	sig = strings.TrimRight(sig, "\n")
	obj := head + "\ngpgsig " + strings.ReplaceAll(sig, "\n", "\n ") + "\n\n" + body
	f := filepath.Join(tb.TempDir(), "commit")
	if err := os.WriteFile(f, []byte(obj), 0o644); err != nil {
		tb.Fatal(err)
	}
	id := r.Git(tb, "hash-object", "-t", "commit", "-w", f)
	r.Git(tb, "reset", "-q", "--soft", id)
}

// SSHKey is a generated SSH signing key.
type SSHKey struct {
	// Private is the private key file (no passphrase).
	Private string
	// Public is the public key line ("ssh-ed25519 AAAA... comment").
	Public string
	// AllowedSigners is an allowed_signers line trusting the key for git.
	AllowedSigners string
}

// NewSSHKey generates an ed25519 key with ssh-keygen for principal (an
// email); testenv.Missing when ssh-keygen is absent.
func NewSSHKey(tb testing.TB, principal string) *SSHKey {
	tb.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		testenv.Missing(tb, "ssh-keygen not found in PATH")
	}
	p := filepath.Join(tb.TempDir(), "id_ed25519")
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", p).CombinedOutput()
	if err != nil {
		tb.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(p + ".pub")
	if err != nil {
		tb.Fatal(err)
	}
	line := strings.TrimSpace(string(pub))
	f := strings.Fields(line)
	return &SSHKey{Private: p, Public: line, AllowedSigners: principal + ` namespaces="git" ` + f[0] + " " + f[1]}
}

// CommitSignedSSH is Commit with the commit signed by key (git's
// gpg.format=ssh, which runs ssh-keygen -Y sign).
func (r *Repo) CommitSignedSSH(tb testing.TB, key *SSHKey, msg string, files map[string]string) string {
	tb.Helper()
	r.Write(tb, files)
	r.Git(tb, "add", "-A")
	r.Git(tb, "-c", "gpg.format=ssh", "-c", "user.signingkey="+key.Private,
		"commit", "-q", "--allow-empty", "-S", "-m", msg)
	r.Push(tb)
	return r.Head(tb)
}
