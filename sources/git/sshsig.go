package git

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"golang.org/x/crypto/ssh"
)

// SSH signatures are OpenSSH's SSHSIG format (PROTOCOL.sshsig), which
// go-git does not verify: the armored blob carries the public key, the
// namespace ("git" for commits), the hash algorithm and the signature over
// "SSHSIG" || namespace || reserved || hash-alg || H(message).

const (
	sshSigBegin = "-----BEGIN SSH SIGNATURE-----"
	sshSigEnd   = "-----END SSH SIGNATURE-----"
	sshSigMagic = "SSHSIG"
	gitNS       = "git"
)

// SSHSignature is a parsed SSHSIG blob.
type SSHSignature struct {
	PublicKey     ssh.PublicKey
	Namespace     string
	HashAlgorithm string // "sha256" or "sha512"
	Signature     *ssh.Signature
}

// ParseSSHSignature parses an armored SSH signature.
func ParseSSHSignature(armored []byte) (*SSHSignature, error) {
	s := strings.TrimSpace(string(armored))
	body, ok := strings.CutPrefix(s, sshSigBegin)
	if !ok {
		return nil, errors.New("ssh signature: missing BEGIN SSH SIGNATURE line")
	}
	body, ok = strings.CutSuffix(body, sshSigEnd)
	if !ok {
		return nil, errors.New("ssh signature: missing END SSH SIGNATURE line")
	}
	blob, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil {
		return nil, fmt.Errorf("ssh signature: bad base64: %w", err)
	}
	if len(blob) < len(sshSigMagic) || string(blob[:len(sshSigMagic)]) != sshSigMagic {
		return nil, errors.New("ssh signature: missing SSHSIG magic")
	}
	var w struct {
		Version       uint32
		PublicKey     []byte
		Namespace     string
		Reserved      string
		HashAlgorithm string
		Signature     []byte
	}
	if err := ssh.Unmarshal(blob[len(sshSigMagic):], &w); err != nil {
		return nil, fmt.Errorf("ssh signature: %w", err)
	}
	if w.Version != 1 {
		return nil, fmt.Errorf("ssh signature: unsupported version %d", w.Version)
	}
	pub, err := ssh.ParsePublicKey(w.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("ssh signature: public key: %w", err)
	}
	sig := new(ssh.Signature)
	if err := ssh.Unmarshal(w.Signature, sig); err != nil {
		return nil, fmt.Errorf("ssh signature: signature: %w", err)
	}
	switch w.HashAlgorithm {
	case "sha256", "sha512":
	default:
		return nil, fmt.Errorf("ssh signature: unsupported hash algorithm %q", w.HashAlgorithm)
	}
	return &SSHSignature{PublicKey: pub, Namespace: w.Namespace, HashAlgorithm: w.HashAlgorithm, Signature: sig}, nil
}

// VerifyMessage checks the signature over message in namespace.
func (s *SSHSignature) VerifyMessage(namespace string, message []byte) error {
	if s.Namespace != namespace {
		return fmt.Errorf("signature namespace is %q, want %q", s.Namespace, namespace)
	}
	var h []byte
	switch s.HashAlgorithm {
	case "sha256":
		sum := sha256.Sum256(message)
		h = sum[:]
	case "sha512":
		sum := sha512.Sum512(message)
		h = sum[:]
	}
	signed := append([]byte(sshSigMagic), ssh.Marshal(struct {
		Namespace     string
		Reserved      string
		HashAlgorithm string
		Hash          []byte
	}{namespace, "", s.HashAlgorithm, h})...)
	return s.PublicKey.Verify(signed, s.Signature)
}

// AllowedSigner is one line of an allowed_signers file.
type AllowedSigner struct {
	Line        int
	Principals  []string
	Namespaces  []string // empty: any namespace
	ValidAfter  time.Time
	ValidBefore time.Time
	CA          bool // cert-authority: trusts certificates, not the key itself
	Key         ssh.PublicKey
}

// ParseAllowedSigners parses ssh-keygen's ALLOWED SIGNERS format:
// "principals [options] keytype base64-key [comment]", options being
// namespaces="...", valid-after="...", valid-before="..." and
// cert-authority. Errors name the line.
func ParseAllowedSigners(data []byte) ([]AllowedSigner, error) {
	var out []AllowedSigner
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseAllowedSigner(line)
		if err != nil {
			return nil, fmt.Errorf("allowed signers line %d: %w", n, err)
		}
		s.Line = n
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("allowed signers: %w", err)
	}
	return out, nil
}

func parseAllowedSigner(line string) (AllowedSigner, error) {
	var s AllowedSigner
	principals, rest, ok := cutField(line)
	if !ok || strings.TrimSpace(rest) == "" {
		return s, errors.New("want: principals [options] keytype key")
	}
	principals = strings.Trim(principals, `"`)
	for _, p := range strings.Split(principals, ",") {
		if p = strings.TrimSpace(p); p != "" {
			s.Principals = append(s.Principals, p)
		}
	}
	if len(s.Principals) == 0 {
		return s, errors.New("no principals")
	}
	key, _, opts, _, err := ssh.ParseAuthorizedKey([]byte(rest))
	if err != nil {
		return s, fmt.Errorf("key: %w", err)
	}
	s.Key = key
	for _, o := range opts {
		name, val, _ := strings.Cut(o, "=")
		val = strings.Trim(val, `"`)
		switch strings.ToLower(name) {
		case "cert-authority":
			s.CA = true
		case "namespaces":
			for _, ns := range strings.Split(val, ",") {
				if ns = strings.TrimSpace(ns); ns != "" {
					s.Namespaces = append(s.Namespaces, ns)
				}
			}
		case "valid-after":
			if s.ValidAfter, err = parseSSHTime(val); err != nil {
				return s, fmt.Errorf("valid-after: %w", err)
			}
		case "valid-before":
			if s.ValidBefore, err = parseSSHTime(val); err != nil {
				return s, fmt.Errorf("valid-before: %w", err)
			}
		default:
			return s, fmt.Errorf("unknown option %q", name)
		}
	}
	return s, nil
}

// cutField splits off the first whitespace-separated field, which may be
// double-quoted.
func cutField(line string) (field, rest string, ok bool) {
	line = strings.TrimLeft(line, " \t")
	if strings.HasPrefix(line, `"`) {
		end := strings.Index(line[1:], `"`)
		if end < 0 {
			return "", "", false
		}
		return line[1 : end+1], line[end+2:], true
	}
	i := strings.IndexAny(line, " \t")
	if i < 0 {
		return line, "", true
	}
	return line[:i], line[i+1:], true
}

// parseSSHTime parses YYYYMMDD[HHMM[SS]][Z] (local time unless Z).
func parseSSHTime(v string) (time.Time, error) {
	loc := time.Local
	if strings.HasSuffix(v, "Z") || strings.HasSuffix(v, "z") {
		loc, v = time.UTC, v[:len(v)-1]
	}
	for _, layout := range []string{"20060102150405", "200601021504", "20060102"} {
		if len(v) == len(layout) {
			return time.ParseInLocation(layout, v, loc)
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q (want YYYYMMDD[HHMM[SS]][Z])", v)
}

// matches reports whether s trusts key in namespace at time t.
func (s AllowedSigner) matches(key ssh.PublicKey, ns string, t time.Time) bool {
	if s.CA || !bytes.Equal(s.Key.Marshal(), key.Marshal()) {
		return false
	}
	if len(s.Namespaces) > 0 {
		ok := false
		for _, p := range s.Namespaces {
			if m, _ := path.Match(p, ns); m {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	if !s.ValidAfter.IsZero() && t.Before(s.ValidAfter) {
		return false
	}
	if !s.ValidBefore.IsZero() && !t.Before(s.ValidBefore) {
		return false
	}
	return true
}

func (v *Verifier) verifySSH(c *object.Commit, payload []byte, armored string) (*Signer, error) {
	serr := &SignatureError{Commit: c.Hash.String(), Format: "ssh"}
	sig, err := ParseSSHSignature([]byte(armored))
	if err != nil {
		serr.Reason, serr.Err = ErrBadSignedData, err
		return nil, serr
	}
	serr.KeyID = ssh.FingerprintSHA256(sig.PublicKey)
	if len(v.signers) == 0 {
		serr.Reason, serr.Err = ErrUntrustedKey, errors.New("no allowed SSH signers configured")
		return nil, serr
	}
	// Like git, check validity at the commit's committer time.
	var principals []string
	for _, s := range v.signers {
		if s.matches(sig.PublicKey, gitNS, c.Committer.When) {
			principals = append(principals, s.Principals...)
		}
	}
	if len(principals) == 0 {
		serr.Reason = ErrUntrustedKey
		return nil, serr
	}
	if err := sig.VerifyMessage(gitNS, payload); err != nil {
		serr.Reason, serr.Err = ErrBadSignature, err
		return nil, serr
	}
	return &Signer{Format: "ssh", KeyID: serr.KeyID, Identity: strings.Join(principals, ",")}, nil
}
