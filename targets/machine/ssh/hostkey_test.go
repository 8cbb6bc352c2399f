package ssh

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/stewardhq/steward/deploy/testenv/sshd"
)

func TestHostKeyVerification(t *testing.T) {
	hosts := startHosts(t, 2)
	h, other := hosts[0], hosts[1]
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// Lines that give h's address another host's key, mark h's key
	// revoked, or list only other hosts.
	changed := write("changed", knownhosts.Line([]string{h.Addr}, other.HostKey)+"\n")
	revoked := write("revoked", "@revoked "+knownhosts.Line([]string{h.Addr}, h.HostKey)+"\n")
	unknown := write("unknown", other.KnownHostsLine+"\n")
	empty := write("empty", "")
	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	strangerSigner, _ := gossh.NewSignerFromKey(stranger)
	missingKey := filepath.Join(dir, "missing_key")
	isAuth := func(err error) bool { var a *AuthError; return errors.As(err, &a) }

	tests := []struct {
		name    string
		edit    func(*Config)
		want    error  // sentinel, nil for success
		inError string // text the error must hold
		as      func(error) bool
	}{
		{name: "known", edit: nil},
		{name: "pinned and known", edit: func(c *Config) { c.PinnedFingerprints = []string{"SHA256:other", h.HostKeyFingerprint} }},
		{name: "pinned only", edit: func(c *Config) { c.KnownHostsFile = ""; c.PinnedFingerprints = []string{h.HostKeyFingerprint} }},
		{name: "unknown", edit: func(c *Config) { c.KnownHostsFile = unknown }, want: ErrHostKeyUnknown, inError: h.HostKeyFingerprint},
		{name: "empty known_hosts", edit: func(c *Config) { c.KnownHostsFile = empty }, want: ErrHostKeyUnknown, inError: h.HostKeyFingerprint},
		{name: "changed", edit: func(c *Config) { c.KnownHostsFile = changed }, want: ErrHostKeyChanged, inError: h.HostKeyFingerprint},
		{name: "revoked", edit: func(c *Config) { c.KnownHostsFile = revoked }, want: ErrHostKeyRevoked, inError: h.HostKeyFingerprint},
		{name: "pin mismatch", edit: func(c *Config) { c.PinnedFingerprints = []string{other.HostKeyFingerprint} }, want: ErrHostKeyNotPinned, inError: h.HostKeyFingerprint},
		{name: "pin mismatch without known_hosts", edit: func(c *Config) {
			c.KnownHostsFile = ""
			c.PinnedFingerprints = []string{other.HostKeyFingerprint}
		}, want: ErrHostKeyNotPinned, inError: h.HostKeyFingerprint},
		{name: "no host key check", edit: func(c *Config) { c.KnownHostsFile = "" }, want: ErrNoHostKeyCheck},
		{name: "missing known_hosts file", edit: func(c *Config) { c.KnownHostsFile = filepath.Join(dir, "nope") }, want: os.ErrNotExist},
		{name: "malformed pin", edit: func(c *Config) { c.PinnedFingerprints = []string{"MD5:aa:bb"} }, inError: "pinned fingerprint"},
		{name: "wrong client key", edit: func(c *Config) { c.KeyFile = ""; c.Signers = []gossh.Signer{strangerSigner} }, inError: "authentication", as: isAuth},
		{name: "garbage key file", edit: func(c *Config) { c.KeyFile = write("garbage", "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0\n") }, inError: "not a usable private key"},
		{name: "missing key file", edit: func(c *Config) { c.KeyFile = missingKey }, want: os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := Dial(context.Background(), hostConfig(h, tt.edit))
			if tt.want == nil && tt.inError == "" {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				tr.Close()
				return
			}
			if err == nil {
				tr.Close()
				t.Fatal("Dial succeeded, want a refusal")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if tt.as != nil && !tt.as(err) {
				t.Errorf("err = %#v has the wrong type", err)
			}
			if !strings.Contains(err.Error(), tt.inError) {
				t.Errorf("err = %q, want it to hold %q", err, tt.inError)
			}
			if strings.Contains(err.Error(), "c2VjcmV0") {
				t.Errorf("error quotes key material: %v", err)
			}
		})
	}
}

func TestRefusedHostKeyRunsNothing(t *testing.T) {
	hosts := startHosts(t, 2)
	h := hosts[0]
	kh := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(kh, []byte(knownhosts.Line([]string{h.Addr}, hosts[1].HostKey)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Dial(context.Background(), hostConfig(h, func(c *Config) { c.KnownHostsFile = kh }))
	var hkErr *HostKeyError
	if !errors.As(err, &hkErr) || hkErr.Problem != HostKeyChanged || hkErr.Fingerprint != h.HostKeyFingerprint || len(hkErr.Known) != 1 {
		t.Fatalf("err = %#v", err)
	}
	if !strings.Contains(err.Error(), "man-in-the-middle") || !strings.Contains(err.Error(), kh+":1") {
		t.Errorf("changed-key error should warn and name the known_hosts line: %v", err)
	}
	if got := h.Accepted(); got != 0 {
		t.Fatalf("sshd authenticated %d sessions for a refused host", got)
	}
}

// TestHostKeyAlgorithmsFromKnownHosts: a host with ed25519 and ecdsa keys,
// known_hosts listing only one of them. The client asks for the listed
// type, so the host is accepted, not refused as "changed" because the
// server preferred its other key.
func TestHostKeyAlgorithmsFromKnownHosts(t *testing.T) {
	opts := sshd.DefaultOptions()
	opts.HostKeyTypes = []string{"ed25519", "ecdsa"}
	h := sshd.ForTest(t, 1, opts)[0]
	for i, key := range h.HostKeys {
		kh := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(kh, []byte(knownhosts.Line([]string{h.Addr}, key)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		tr, err := Dial(context.Background(), hostConfig(h, func(c *Config) { c.KnownHostsFile = kh }))
		if err != nil {
			t.Fatalf("only %s known: %v", key.Type(), err)
		}
		tr.Close()
		// Pinning the other key of the same host is still refused.
		other := h.HostKeys[1-i]
		_, err = Dial(context.Background(), hostConfig(h, func(c *Config) {
			c.KnownHostsFile = kh
			c.PinnedFingerprints = []string{gossh.FingerprintSHA256(other)}
		}))
		if !errors.Is(err, ErrHostKeyNotPinned) {
			t.Fatalf("pin of the %s key while %s negotiated: err = %v", other.Type(), key.Type(), err)
		}
	}
}
