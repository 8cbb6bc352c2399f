// Package sopstest encrypts files for tests the way `sops --encrypt` does,
// with the sops library itself and age keys made on the spot, so tests of
// other packages get real SOPS files without the sops binary.
package sopstest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	sopslib "github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	sopspgp "github.com/getsops/sops/v3/pgp"
	"github.com/getsops/sops/v3/stores/dotenv"
	sopsini "github.com/getsops/sops/v3/stores/ini"
	sopsjson "github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"

	"github.com/stewardhq/steward/sources/sops"
)

// AgeKey is an age identity made for a test.
type AgeKey struct {
	Secret    string // AGE-SECRET-KEY-1…
	Recipient string // age1…
	// File is a key file holding Secret, as age-keygen writes it.
	File string
}

// NewAgeKey makes an age identity and its key file under t's temporary
// directory.
func NewAgeKey(t testing.TB) AgeKey {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	k := AgeKey{Secret: id.String(), Recipient: id.Recipient().String()}
	k.File = filepath.Join(t.TempDir(), "keys.txt")
	content := "# public key: " + k.Recipient + "\n" + k.Secret + "\n"
	if err := os.WriteFile(k.File, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// Encrypt encrypts plain, of the format its name says (YAML, JSON, dotenv,
// INI), for the age recipients, as `sops --encrypt --age …` does; with
// encryptedRegex ("" for none) only the keys it matches are encrypted
// (--encrypted-regex).
func Encrypt(t testing.TB, name string, plain []byte, encryptedRegex string, recipients ...string) []byte {
	t.Helper()
	var group sopslib.KeyGroup
	for _, r := range recipients {
		k, err := sopsage.MasterKeyFromRecipient(r)
		if err != nil {
			t.Fatalf("sopstest: recipient %s: %v", r, err)
		}
		group = append(group, k)
	}
	return mustEncrypt(t, name, plain, encryptedRegex, group)
}

// PGPKey is an OpenPGP key pair made for a test, in keyring files.
type PGPKey struct {
	Fingerprint string // upper-case hex
	// Secring holds the secret key without a passphrase, Pubring the
	// public key (binary keyrings).
	Secring, Pubring string
}

// NewPGPKey makes an OpenPGP key pair and its keyrings under t's temporary
// directory.
func NewPGPKey(t testing.TB) PGPKey {
	t.Helper()
	e, err := openpgp.NewEntity("steward test", "", "test@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var sec, pub bytes.Buffer
	if err := e.SerializePrivate(&sec, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(&pub); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	k := PGPKey{Fingerprint: strings.ToUpper(hex.EncodeToString(e.PrimaryKey.Fingerprint)),
		Secring: filepath.Join(dir, "secring.gpg"), Pubring: filepath.Join(dir, "pubring.gpg")}
	for f, b := range map[string][]byte{k.Secring: sec.Bytes(), k.Pubring: pub.Bytes()} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

// EncryptPGP is Encrypt for OpenPGP keys, as `sops --encrypt --pgp …` does.
func EncryptPGP(t testing.TB, name string, plain []byte, encryptedRegex string, keys ...PGPKey) []byte {
	t.Helper()
	var group sopslib.KeyGroup
	for _, p := range keys {
		k := sopspgp.NewMasterKeyFromFingerprint(p.Fingerprint)
		sopspgp.PubRing(p.Pubring).ApplyToMasterKey(k)
		group = append(group, k)
	}
	return mustEncrypt(t, name, plain, encryptedRegex, group)
}

// mustEncrypt is encrypt that fails t on an error.
func mustEncrypt(t testing.TB, name string, plain []byte, encryptedRegex string, group sopslib.KeyGroup) []byte {
	t.Helper()
	out, err := encrypt(name, plain, encryptedRegex, group)
	if err != nil {
		t.Fatalf("sopstest: encrypt %s: %v", name, err)
	}
	return out
}

func encrypt(name string, plain []byte, encryptedRegex string, group sopslib.KeyGroup) ([]byte, error) {
	st := storeFor(sops.FormatOf(name))
	branches, err := st.LoadPlainFile(plain)
	if err != nil {
		return nil, err
	}
	md := sopslib.Metadata{KeyGroups: []sopslib.KeyGroup{group}, Version: "3.13.3"}
	if encryptedRegex != "" {
		md.EncryptedRegex = encryptedRegex
	} else {
		md.UnencryptedSuffix = sopslib.DefaultUnencryptedSuffix
	}
	tree := sopslib.Tree{Branches: branches, Metadata: md}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	for _, k := range group {
		if err := k.Encrypt(key); err != nil {
			return nil, err
		}
	}
	c := aes.NewCipher()
	mac, err := tree.Encrypt(key, c)
	if err != nil {
		return nil, err
	}
	tree.Metadata.LastModified = time.Now().UTC().Truncate(time.Second)
	tree.Metadata.MessageAuthenticationCode, err = c.Encrypt(mac, key, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, fmt.Errorf("mac: %w", err)
	}
	return st.EmitEncryptedFile(tree)
}

func storeFor(f sops.Format) sopslib.Store {
	switch f {
	case sops.FormatJSON:
		return sopsjson.NewStore(&config.JSONStoreConfig{})
	case sops.FormatDotenv:
		return dotenv.NewStore(&config.DotenvStoreConfig{})
	case sops.FormatINI:
		return sopsini.NewStore(&config.INIStoreConfig{})
	}
	return sopsyaml.NewStore(&config.YAMLStoreConfig{})
}
