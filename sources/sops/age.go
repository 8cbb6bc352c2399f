package sops

import (
	"bytes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"slices"
	"strings"

	"filippo.io/age"
	agearmor "filippo.io/age/armor"
	"golang.org/x/crypto/chacha20poly1305"
)

// Each SOPS file's data key is a small age file, and opening one is most
// of what decrypting a small Secret costs. Two costs of age's own path are
// not inherent and are avoided here, age's path remaining the authority:
//   - its X25519 identity recomputes its public key on every unwrap (through
//     curve25519.X25519), doubling the scalar multiplications;
//   - age.Decrypt allocates a 64 KiB chunk buffer for a 32-byte payload.
// The header is still parsed, unwrapped and authenticated by age
// (age.DecryptHeader); only the payload's single chunk is opened here.
// Whatever does not fit (a longer payload, a failure of any kind) goes to
// age.Decrypt, whose answer stands.

// openAge decrypts an armoured age file with ids. age sorts the
// identities it is given, so each call has its own copy.
func openAge(armored string, ids []age.Identity) ([]byte, error) {
	ids = slices.Clone(ids)
	raw, err := io.ReadAll(agearmor.NewReader(strings.NewReader(armored)))
	if err != nil {
		return nil, err
	}
	key, err := openSingleChunk(raw, ids)
	if !errors.Is(err, errNotSingle) {
		return key, err
	}
	r, err := age.Decrypt(bytes.NewReader(raw), ids...)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// The age payload: a nonce, then chunks of at most 64 KiB sealed with
// ChaCha20-Poly1305 under a key derived from the file key and the nonce.
const (
	ageNonceSize = 16
	ageChunkSize = 64 * 1024
)

// errNotSingle: openSingleChunk leaves the file to age.Decrypt.
var errNotSingle = errors.New("not a single-chunk age file")

// openSingleChunk opens a file whose payload is one chunk. No identity
// matching is age's answer (age.Decrypt would read the same header the
// same way); for anything else that is not a single chunk that opens it
// returns errNotSingle.
func openSingleChunk(raw []byte, ids []age.Identity) ([]byte, error) {
	// The header ends with its MAC line, "--- MAC\n", the first line to
	// start so; age.DecryptHeader checks it is one.
	i := bytes.Index(raw, []byte("\n--- "))
	if i < 0 {
		return nil, errNotSingle
	}
	end := bytes.IndexByte(raw[i+1:], '\n')
	if end < 0 {
		return nil, errNotSingle
	}
	hdr, payload := raw[:i+1+end+1], raw[i+1+end+1:]
	if len(payload) < ageNonceSize+chacha20poly1305.Overhead || len(payload) > ageNonceSize+ageChunkSize+chacha20poly1305.Overhead {
		return nil, errNotSingle
	}
	fileKey, err := age.DecryptHeader(hdr, ids...)
	if err != nil {
		var noMatch *age.NoIdentityMatchError
		if errors.As(err, &noMatch) {
			return nil, err
		}
		return nil, errNotSingle
	}
	defer clear(fileKey)
	aead, err := hkdfAEAD(fileKey, payload[:ageNonceSize], "payload")
	if err != nil {
		return nil, errNotSingle
	}
	// Chunk 0, flagged last: a 11-byte big-endian counter, then 1.
	var nonce [chacha20poly1305.NonceSize]byte
	binary.BigEndian.PutUint64(nonce[3:11], 0)
	nonce[len(nonce)-1] = 1
	plain, err := aead.Open(nil, nonce[:], payload[ageNonceSize:], nil)
	if err != nil {
		return nil, errNotSingle
	}
	return plain, nil
}

// x25519Identity is an age X25519 identity whose private key, public key
// included, is prepared once.
type x25519Identity struct {
	priv *ecdh.PrivateKey
	pub  []byte
}

var _ age.Identity = (*x25519Identity)(nil)

// prepared returns id as an x25519Identity, or id itself should its key not
// read back to the same public key.
func prepared(id *age.X25519Identity) age.Identity {
	secret, err := bech32Data(id.String())
	if err != nil {
		return id
	}
	defer clear(secret)
	priv, err := ecdh.X25519().NewPrivateKey(secret)
	if err != nil {
		return id
	}
	pub, err := bech32Data(id.Recipient().String())
	if err != nil || !bytes.Equal(pub, priv.PublicKey().Bytes()) {
		return id
	}
	return &x25519Identity{priv: priv, pub: pub}
}

// Unwrap is age's X25519Identity.Unwrap: the first X25519 stanza this key
// opens gives the file key; a malformed X25519 stanza is an error.
func (i *x25519Identity) Unwrap(stanzas []*age.Stanza) ([]byte, error) {
	for _, s := range stanzas {
		key, err := i.unwrap(s)
		if errors.Is(err, age.ErrIncorrectIdentity) {
			continue
		}
		return key, err
	}
	return nil, age.ErrIncorrectIdentity
}

const x25519Label = "age-encryption.org/v1/X25519"

var errX25519Stanza = errors.New("invalid X25519 recipient block")

func (i *x25519Identity) unwrap(s *age.Stanza) ([]byte, error) {
	if s.Type != "X25519" {
		return nil, age.ErrIncorrectIdentity
	}
	if len(s.Args) != 1 || strings.ContainsAny(s.Args[0], "\n\r") {
		return nil, errX25519Stanza
	}
	share, err := base64.RawStdEncoding.Strict().DecodeString(s.Args[0])
	if err != nil || len(share) != 32 {
		return nil, errX25519Stanza
	}
	peer, err := ecdh.X25519().NewPublicKey(share)
	if err != nil {
		return nil, errX25519Stanza
	}
	shared, err := i.priv.ECDH(peer)
	if err != nil {
		return nil, errX25519Stanza
	}
	defer clear(shared)
	salt := slices.Concat(share, i.pub)
	aead, err := hkdfAEAD(shared, salt, x25519Label)
	if err != nil {
		return nil, err
	}
	const fileKeySize = 16
	if len(s.Body) != fileKeySize+aead.Overhead() {
		return nil, errX25519Stanza
	}
	fileKey, err := aead.Open(nil, make([]byte, chacha20poly1305.NonceSize), s.Body, nil)
	if err != nil {
		return nil, age.ErrIncorrectIdentity
	}
	return fileKey, nil
}

// hkdfAEAD is the ChaCha20-Poly1305 of a key derived from secret with
// HKDF-SHA256, as age derives its payload and wrapping keys; the derived
// key is cleared once the AEAD holds it.
func hkdfAEAD(secret, salt []byte, info string) (cipher.AEAD, error) {
	key, err := hkdf.Key(sha256.New, secret, salt, info, chacha20poly1305.KeySize)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	return chacha20poly1305.New(key)
}

// bech32Data returns the data of a Bech32 string (BIP 173) without
// checking its checksum: the callers check what the data means instead.
func bech32Data(s string) ([]byte, error) {
	const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
	s = strings.ToLower(s)
	sep := strings.LastIndexByte(s, '1')
	if sep < 1 || len(s)-sep-1 < 6 {
		return nil, errors.New("malformed bech32")
	}
	data := s[sep+1 : len(s)-6]
	var out []byte
	var acc uint32
	bits := 0
	for i := 0; i < len(data); i++ {
		v := strings.IndexByte(charset, data[i])
		if v < 0 {
			return nil, errors.New("malformed bech32")
		}
		acc = acc<<5 | uint32(v)
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	if bits >= 5 || acc&(1<<bits-1) != 0 {
		return nil, errors.New("malformed bech32 padding")
	}
	return out, nil
}
