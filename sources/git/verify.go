package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/stewardhq/steward/reconcile"
)

// VerifyOptions enable commit signature verification: a commit is accepted
// only when it is signed by a key of OpenPGPKeyRing or AllowedSigners.
type VerifyOptions struct {
	// OpenPGPKeyRing is an armored OpenPGP public keyring (one or more
	// "-----BEGIN PGP PUBLIC KEY BLOCK-----" blocks).
	OpenPGPKeyRing string
	// AllowedSigners is an SSH allowed_signers file's content (the format of
	// ssh-keygen(1) ALLOWED SIGNERS, as git's gpg.ssh.allowedSignersFile).
	AllowedSigners string
}

// Verifier checks commit signatures; build it once with NewVerifier.
type Verifier struct {
	keyring openpgp.EntityList
	signers []AllowedSigner
}

// NewVerifier parses the keyring and the allowed signers.
func NewVerifier(opts VerifyOptions) (*Verifier, error) {
	v := &Verifier{}
	if strings.TrimSpace(opts.OpenPGPKeyRing) != "" {
		kr, err := openpgp.ReadArmoredKeyRing(strings.NewReader(opts.OpenPGPKeyRing))
		if err != nil {
			return nil, fmt.Errorf("read openpgp keyring: %w", err)
		}
		v.keyring = kr
	}
	if strings.TrimSpace(opts.AllowedSigners) != "" {
		s, err := ParseAllowedSigners([]byte(opts.AllowedSigners))
		if err != nil {
			return nil, err
		}
		v.signers = s
	}
	if len(v.keyring) == 0 && len(v.signers) == 0 {
		return nil, errors.New("signature verification: no OpenPGP keys and no allowed SSH signers")
	}
	return v, nil
}

// Signer is who signed a verified commit.
type Signer struct {
	Format   string // "openpgp" or "ssh"
	KeyID    string // OpenPGP key id (hex) or SSH key fingerprint (SHA256:...)
	Identity string // OpenPGP user id or SSH principals
}

// Reasons a signature is refused; SignatureError matches them with errors.Is.
var (
	ErrUnsigned      = errors.New("commit is not signed")
	ErrUntrustedKey  = errors.New("signed by a key that is not trusted")
	ErrBadSignature  = errors.New("bad signature")
	ErrBadSignedData = errors.New("malformed signature")
)

// SignatureError is a commit refused by signature verification.
type SignatureError struct {
	Commit string // commit id
	Reason error  // ErrUnsigned, ErrUntrustedKey, ErrBadSignature or ErrBadSignedData
	Format string // "openpgp", "ssh" or "" when unsigned
	KeyID  string // the signing key's id or fingerprint when known
	Err    error  // the underlying error, if any
}

func (e *SignatureError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "commit %s refused: %v", reconcile.ShortRevision(e.Commit, reconcile.RevisionWidth), e.Reason)
	if e.Format != "" {
		fmt.Fprintf(&b, " (%s", e.Format)
		if e.KeyID != "" {
			fmt.Fprintf(&b, " key %s", e.KeyID)
		}
		b.WriteString(")")
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Is matches the reason sentinel.
func (e *SignatureError) Is(target error) bool { return target == e.Reason }

func (e *SignatureError) Unwrap() error { return e.Err }

// Verify checks c's signature; it returns *SignatureError when c is refused.
func (v *Verifier) Verify(c *object.Commit) (*Signer, error) {
	sig := c.PGPSignature
	if strings.TrimSpace(sig) == "" {
		return nil, &SignatureError{Commit: c.Hash.String(), Reason: ErrUnsigned}
	}
	payload, err := signedPayload(c)
	if err != nil {
		return nil, fmt.Errorf("encode commit %s: %w", c.Hash, err)
	}
	switch {
	case strings.HasPrefix(strings.TrimSpace(sig), sshSigBegin):
		return v.verifySSH(c, payload, sig)
	case strings.HasPrefix(strings.TrimSpace(sig), "-----BEGIN PGP SIGNATURE-----"):
		return v.verifyPGP(c, payload, sig)
	}
	return nil, &SignatureError{Commit: c.Hash.String(), Reason: ErrBadSignedData, Err: errors.New("unknown signature format (not OpenPGP, not SSH)")}
}

func signedPayload(c *object.Commit) ([]byte, error) {
	o := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(o); err != nil {
		return nil, err
	}
	r, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func (v *Verifier) verifyPGP(c *object.Commit, payload []byte, sig string) (*Signer, error) {
	keyID := pgpIssuer(sig)
	serr := &SignatureError{Commit: c.Hash.String(), Format: "openpgp", KeyID: keyID}
	if strings.Count(sig, "-----BEGIN PGP SIGNATURE-----") > 1 {
		serr.Reason, serr.Err = ErrBadSignedData, errors.New("more than one signature")
		return nil, serr
	}
	if len(v.keyring) == 0 {
		serr.Reason, serr.Err = ErrUntrustedKey, errors.New("no OpenPGP keyring configured")
		return nil, serr
	}
	ent, err := openpgp.CheckArmoredDetachedSignature(v.keyring, bytes.NewReader(payload), strings.NewReader(sig), nil)
	if err != nil {
		serr.Err = err
		switch {
		case errors.Is(err, pgperrors.ErrUnknownIssuer):
			serr.Reason, serr.Err = ErrUntrustedKey, nil
		case isPGPSignatureError(err):
			serr.Reason = ErrBadSignature
		default:
			serr.Reason = ErrBadSignedData
		}
		return nil, serr
	}
	s := &Signer{Format: "openpgp", KeyID: keyID}
	for name := range ent.Identities {
		s.Identity = name
		break
	}
	return s, nil
}

func isPGPSignatureError(err error) bool {
	var se pgperrors.SignatureError
	if errors.As(err, &se) {
		return true
	}
	var kse pgperrors.KeyInvalidError
	return errors.As(err, &kse)
}

// pgpIssuer returns the issuer key id of an armored signature, "" if none.
func pgpIssuer(sig string) string {
	blk, err := armor.Decode(strings.NewReader(sig))
	if err != nil {
		return ""
	}
	p, err := packet.Read(blk.Body)
	if err != nil {
		return ""
	}
	s, ok := p.(*packet.Signature)
	if !ok {
		return ""
	}
	if len(s.IssuerFingerprint) > 0 {
		return fmt.Sprintf("%X", s.IssuerFingerprint)
	}
	if s.IssuerKeyId != nil {
		return fmt.Sprintf("%016X", *s.IssuerKeyId)
	}
	return ""
}

// Verify checks the signature of the commit rev names.
func (r *Repository) Verify(ctx context.Context, rev string, v *Verifier) (*Signer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.resolve(rev)
	if err != nil {
		return nil, err
	}
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", h, err)
	}
	return v.Verify(c)
}
