package git

import (
	"bytes"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"golang.org/x/crypto/ssh"
)

// CommitSigner signs the payload of a commit (the commit encoded without
// its signature) and returns the armored signature git keeps in the
// commit's gpgsig header.
type CommitSigner interface {
	Sign(payload []byte) (string, error)
}

// NewCommitSigner reads a private key: an armored OpenPGP private key
// ("-----BEGIN PGP PRIVATE KEY BLOCK-----") or an unencrypted OpenSSH
// private key. Commits it signs verify with VerifyOptions.OpenPGPKeyRing or
// AllowedSigners (namespace "git", as git's gpg.format=ssh). Errors never
// quote the key.
func NewCommitSigner(key []byte) (CommitSigner, error) {
	text := strings.TrimSpace(string(key))
	if strings.HasPrefix(text, "-----BEGIN PGP PRIVATE KEY BLOCK-----") {
		ents, err := openpgp.ReadArmoredKeyRing(strings.NewReader(text))
		if err != nil {
			return nil, fmt.Errorf("signing key: not a readable OpenPGP private key: %w", err)
		}
		if len(ents) == 0 || ents[0].PrivateKey == nil {
			return nil, errors.New("signing key: the OpenPGP key block holds no private key")
		}
		if ents[0].PrivateKey.Encrypted {
			return nil, errors.New("signing key: the OpenPGP private key is passphrase-protected")
		}
		return &pgpSigner{entity: ents[0]}, nil
	}
	s, err := ssh.ParsePrivateKey(key)
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, errors.New("signing key: the SSH private key is passphrase-protected")
		}
		return nil, errors.New("signing key: neither an armored OpenPGP private key nor an OpenSSH private key")
	}
	return &sshSigner{signer: s}, nil
}

type pgpSigner struct{ entity *openpgp.Entity }

func (p *pgpSigner) Sign(payload []byte) (string, error) {
	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, p.entity, bytes.NewReader(payload), nil); err != nil {
		return "", fmt.Errorf("openpgp sign: %w", err)
	}
	return sig.String(), nil
}

type sshSigner struct{ signer ssh.Signer }

// Sign makes an SSHSIG signature (PROTOCOL.sshsig) in namespace "git" over
// the SHA-512 of payload, as ssh-keygen -Y sign does.
func (s *sshSigner) Sign(payload []byte) (string, error) {
	sum := sha512.Sum512(payload)
	signed := append([]byte(sshSigMagic), ssh.Marshal(struct {
		Namespace     string
		Reserved      string
		HashAlgorithm string
		Hash          []byte
	}{gitNS, "", "sha512", sum[:]})...)
	var sig *ssh.Signature
	var err error
	if as, ok := s.signer.(ssh.AlgorithmSigner); ok && s.signer.PublicKey().Type() == ssh.KeyAlgoRSA {
		sig, err = as.SignWithAlgorithm(rand.Reader, signed, ssh.KeyAlgoRSASHA512)
	} else {
		sig, err = s.signer.Sign(rand.Reader, signed)
	}
	if err != nil {
		return "", fmt.Errorf("ssh sign: %w", err)
	}
	blob := append([]byte(sshSigMagic), ssh.Marshal(struct {
		Version       uint32
		PublicKey     []byte
		Namespace     string
		Reserved      string
		HashAlgorithm string
		Signature     []byte
	}{1, s.signer.PublicKey().Marshal(), gitNS, "", "sha512", ssh.Marshal(sig)})...)
	enc := base64.StdEncoding.EncodeToString(blob)
	var b strings.Builder
	b.WriteString(sshSigBegin + "\n")
	for len(enc) > 70 {
		b.WriteString(enc[:70] + "\n")
		enc = enc[70:]
	}
	b.WriteString(enc + "\n" + sshSigEnd + "\n")
	return b.String(), nil
}
