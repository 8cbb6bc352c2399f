package sops

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// EnvAgeKeyFile is the environment variable sops itself reads for a file
// of age identities. This package never reads it unless the caller asks,
// through Options.FromEnv.
const EnvAgeKeyFile = "SOPS_AGE_KEY_FILE"

// Options says where the decryption keys are. Keys are read once, by New.
type Options struct {
	// AgeKeyFiles are files of age identities, one AGE-SECRET-KEY-1… (or
	// AGE-SECRET-KEY-PQ-1…) per line, blank lines and # comments allowed —
	// what age-keygen writes (--sops-age-keys).
	AgeKeyFiles []string
	// PGPKeyrings are OpenPGP keyrings, binary or ASCII-armoured, holding
	// secret keys without a passphrase (steward cannot prompt).
	PGPKeyrings []string
	// AllowUndecrypted makes FS pass a file no key opens through still
	// encrypted, listed by FS.Undecrypted, instead of failing the read:
	// `verify` without keys still generates the rest and names these files
	// as not checked. A tampered or malformed file is always an error.
	AllowUndecrypted bool
}

// DefaultOptions returns options without keys: every SOPS file is refused
// with ErrNoKey.
func DefaultOptions() Options { return Options{} }

// FromEnv returns o with the age key file named by SOPS_AGE_KEY_FILE, read
// through getenv (os.Getenv), when o names no age key file of its own: an
// explicit --sops-age-keys wins over the environment.
func (o Options) FromEnv(getenv func(string) string) Options {
	if f := getenv(EnvAgeKeyFile); f != "" && len(o.AgeKeyFiles) == 0 {
		o.AgeKeyFiles = []string{f}
	}
	return o
}

// keyring is the keys a Decryptor holds.
type keyring struct {
	age []age.Identity
	pgp openpgp.EntityList
}

// loadKeys reads every key file. Errors name the file and line, never
// their content.
func loadKeys(o Options) (keyring, error) {
	var k keyring
	for _, f := range o.AgeKeyFiles {
		ids, err := readAgeFile(f)
		if err != nil {
			return keyring{}, err
		}
		k.age = append(k.age, ids...)
	}
	for _, f := range o.PGPKeyrings {
		ring, err := readPGPFile(f)
		if err != nil {
			return keyring{}, err
		}
		k.pgp = append(k.pgp, ring...)
	}
	return k, nil
}

func readAgeFile(name string) ([]age.Identity, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("age key file: %w", err)
	}
	defer clear(data)
	ids, err := parseAgeIdentities(data)
	if err != nil {
		return nil, fmt.Errorf("age key file %s: %w", name, err)
	}
	return ids, nil
}

// parseAgeIdentities reads age identities, one a line. An error says which
// line is wrong and never quotes it.
func parseAgeIdentities(data []byte) ([]age.Identity, error) {
	var ids []age.Identity
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var (
			id  age.Identity
			err error
		)
		switch {
		case strings.HasPrefix(line, "AGE-SECRET-KEY-PQ-1"):
			id, err = age.ParseHybridIdentity(line)
		case strings.HasPrefix(line, "AGE-SECRET-KEY-1"):
			var x *age.X25519Identity
			if x, err = age.ParseX25519Identity(line); err == nil {
				id = prepared(x)
			}
		case strings.HasPrefix(line, "AGE-PLUGIN-"):
			return nil, fmt.Errorf("line %d: age plugin identities are not supported", n)
		default:
			return nil, fmt.Errorf("line %d: not an age identity (AGE-SECRET-KEY-1…)", n)
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: malformed age identity", n)
		}
		ids = append(ids, id)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(ids) == 0 {
		return nil, errors.New("holds no age identity")
	}
	return ids, nil
}

func readPGPFile(name string) (openpgp.EntityList, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("PGP keyring: %w", err)
	}
	defer clear(data)
	ring, err := parsePGPKeyring(data)
	if err != nil {
		return nil, fmt.Errorf("PGP keyring %s: %w", name, err)
	}
	return ring, nil
}

// parsePGPKeyring reads a binary or armoured keyring and keeps the entities
// with a usable secret key.
func parsePGPKeyring(data []byte) (openpgp.EntityList, error) {
	var r io.Reader = bytes.NewReader(data)
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN PGP")) {
		block, err := armor.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, errors.New("malformed ASCII armour")
		}
		r = block.Body
	}
	ring, err := openpgp.ReadKeyRing(r)
	if err != nil {
		return nil, errors.New("not an OpenPGP keyring")
	}
	var out openpgp.EntityList
	for _, e := range ring {
		if e.PrivateKey == nil {
			continue
		}
		if e.PrivateKey.Encrypted {
			return nil, fmt.Errorf("key %X is passphrase-protected; steward needs it without a passphrase", e.PrimaryKey.Fingerprint)
		}
		for _, sub := range e.Subkeys {
			if sub.PrivateKey != nil && sub.PrivateKey.Encrypted {
				return nil, fmt.Errorf("subkey of %X is passphrase-protected; steward needs it without a passphrase", e.PrimaryKey.Fingerprint)
			}
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil, errors.New("holds no secret key")
	}
	return out, nil
}
