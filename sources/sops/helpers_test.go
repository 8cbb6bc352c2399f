package sops

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	sops "github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	sopspgp "github.com/getsops/sops/v3/pgp"
	"github.com/getsops/sops/v3/stores/dotenv"
	sopsini "github.com/getsops/sops/v3/stores/ini"
	sopsjson "github.com/getsops/sops/v3/stores/json"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
)

// ageKey is an age identity generated for a test.
type ageKey struct {
	secret    string // AGE-SECRET-KEY-1…
	recipient string // age1…
	file      string // a key file holding secret
}

func newAgeKey(t testing.TB) ageKey {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	k := ageKey{secret: id.String(), recipient: id.Recipient().String()}
	k.file = filepath.Join(t.TempDir(), "keys.txt")
	content := "# created: by the test\n# public key: " + k.recipient + "\n" + k.secret + "\n"
	if err := os.WriteFile(k.file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// pgpKey is an OpenPGP key pair generated for a test, in keyring files.
type pgpKey struct {
	fingerprint string
	secring     string // binary secret keyring
	pubring     string // binary public keyring
}

func newPGPKey(t testing.TB) pgpKey {
	t.Helper()
	e, err := openpgp.NewEntity("steward test", "", "test@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var sec, pub bytes.Buffer
	if err := e.SerializePrivate(&sec, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(&pub); err != nil {
		t.Fatal(err)
	}
	k := pgpKey{
		fingerprint: fmtFingerprint(e.PrimaryKey.Fingerprint),
		secring:     filepath.Join(dir, "secring.gpg"),
		pubring:     filepath.Join(dir, "pubring.gpg"),
	}
	if err := os.WriteFile(k.secring, sec.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(k.pubring, pub.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

func fmtFingerprint(fp []byte) string {
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(fp))
	for _, b := range fp {
		out = append(out, hex[b>>4], hex[b&15])
	}
	return string(out)
}

// encryption is how a test file is encrypted, as `sops -e` flags would say.
type encryption struct {
	age            []string // recipients, one key group
	pgp            []pgpKey // in the same group
	encryptedRegex string   // --encrypted-regex; else the default _unencrypted suffix
	groups         [][]string
	threshold      int // Shamir threshold with groups
	// The other rules, one at most with encryptedRegex; none of them and no
	// encryptedRegex means the default _unencrypted suffix.
	unencryptedRegex, encryptedSuffix, unencryptedSuffix string
	encryptedCommentRegex, unencryptedCommentRegex       string
	macOnlyEncrypted                                     bool
}

// fullStore is a sops store with both directions.
type fullStore interface {
	sops.Store
}

func testStore(f Format) fullStore {
	switch f {
	case FormatJSON:
		return sopsjson.NewStore(&config.JSONStoreConfig{})
	case FormatDotenv:
		return dotenv.NewStore(&config.DotenvStoreConfig{})
	case FormatINI:
		return sopsini.NewStore(&config.INIStoreConfig{})
	}
	return sopsyaml.NewStore(&config.YAMLStoreConfig{})
}

// encrypt encrypts plain, of the format its name says, with the sops
// library the way `sops --encrypt` does.
func encrypt(t testing.TB, name string, plain []byte, e encryption) []byte {
	t.Helper()
	out, err := tryEncrypt(name, plain, e)
	if err != nil {
		t.Fatalf("encrypt %s: %v", name, err)
	}
	return out
}

// tryEncrypt is encrypt that returns the library's error, for input the
// library may refuse (fuzzing).
func tryEncrypt(name string, plain []byte, e encryption) ([]byte, error) {
	st := testStore(FormatOf(name))
	branches, err := st.LoadPlainFile(plain)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	ageGroup := func(recipients []string) (sops.KeyGroup, error) {
		var g sops.KeyGroup
		for _, r := range recipients {
			k, err := sopsage.MasterKeyFromRecipient(r)
			if err != nil {
				return nil, err
			}
			g = append(g, k)
		}
		return g, nil
	}
	var groups []sops.KeyGroup
	if e.groups != nil {
		for _, g := range e.groups {
			group, err := ageGroup(g)
			if err != nil {
				return nil, err
			}
			groups = append(groups, group)
		}
	} else {
		g, err := ageGroup(e.age)
		if err != nil {
			return nil, err
		}
		for _, p := range e.pgp {
			k := sopspgp.NewMasterKeyFromFingerprint(p.fingerprint)
			sopspgp.PubRing(p.pubring).ApplyToMasterKey(k)
			g = append(g, k)
		}
		groups = []sops.KeyGroup{g}
	}
	md := sops.Metadata{KeyGroups: groups, Version: "3.13.3", ShamirThreshold: e.threshold,
		EncryptedRegex: e.encryptedRegex, UnencryptedRegex: e.unencryptedRegex,
		EncryptedSuffix: e.encryptedSuffix, UnencryptedSuffix: e.unencryptedSuffix,
		EncryptedCommentRegex: e.encryptedCommentRegex, UnencryptedCommentRegex: e.unencryptedCommentRegex,
		MACOnlyEncrypted: e.macOnlyEncrypted}
	if md.EncryptedRegex == "" && md.UnencryptedRegex == "" && md.EncryptedSuffix == "" && md.UnencryptedSuffix == "" &&
		md.EncryptedCommentRegex == "" && md.UnencryptedCommentRegex == "" {
		md.UnencryptedSuffix = sops.DefaultUnencryptedSuffix
	}
	tree := sops.Tree{Branches: branches, Metadata: md}
	var key []byte
	if len(groups) > 1 {
		var errs []error
		if key, errs = tree.GenerateDataKey(); len(errs) > 0 {
			return nil, fmt.Errorf("data key: %v", errs)
		}
	} else {
		// GenerateDataKey goes through the library's local key service,
		// which rebuilds a PGP key without its keyring and falls back to
		// gpg; encrypt with each master key as configured instead.
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		for _, k := range groups[0] {
			if err := k.Encrypt(key); err != nil {
				return nil, err
			}
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
		return nil, err
	}
	return st.EmitEncryptedFile(tree)
}

func newDecryptor(t testing.TB, opts Options) *Decryptor {
	t.Helper()
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
