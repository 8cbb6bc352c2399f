package sshd

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"

	"golang.org/x/crypto/ssh"
)

// writeKey generates a key pair of typ ("ed25519" or "ecdsa"), writes the
// private key (OpenSSH format, mode 0600) to path and the public key to
// path+".pub", and returns the public key.
func writeKey(path, comment, typ string) (ssh.PublicKey, error) {
	var priv crypto.Signer
	var err error
	switch typ {
	case "ed25519", "":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("host key type %q: want ed25519 or ecdsa", typ)
	}
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	pub := priv.Public()
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, fmt.Errorf("marshal key: %w", err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, fmt.Errorf("write key: %w", err)
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(sshPub), 0o644); err != nil {
		return nil, fmt.Errorf("write public key: %w", err)
	}
	return sshPub, nil
}

// readPublicKey reads an authorized_keys style public key file.
func readPublicKey(path string) (ssh.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return pub, nil
}
