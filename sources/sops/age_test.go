package sops

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"io"
	"strings"
	"testing"

	"filippo.io/age"
	agearmor "filippo.io/age/armor"
)

// TestOpenAgeMatchesAge: openAge (a prepared X25519 key, the payload's
// single chunk opened directly) gives what age.Decrypt gives with age's own
// identity, and refuses what it refuses.
func TestOpenAgeMatchesAge(t *testing.T) {
	mine, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	other, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	id := prepared(mine)
	if _, ok := id.(*x25519Identity); !ok {
		t.Fatalf("prepared returned %T, want the prepared identity", id)
	}
	dataKey := randomBytes(t, 32)
	forMine := ageFile(t, dataKey, mine.Recipient())
	if got, err := openSingleChunk(forMine, []age.Identity{id}); err != nil || !bytes.Equal(got, dataKey) {
		t.Fatal("a data key's file does not open as a single chunk")
	}
	tests := []struct {
		name string
		file []byte
	}{
		{"a data key", forMine},
		{"for two recipients", ageFile(t, dataKey, other.Recipient(), mine.Recipient())},
		{"for another recipient", ageFile(t, dataKey, other.Recipient())},
		{"empty payload", ageFile(t, nil, mine.Recipient())},
		{"several chunks", ageFile(t, randomBytes(t, 150*1024), mine.Recipient())},
		{"payload tampered", flipLast(forMine)},
		{"payload truncated", forMine[:len(forMine)-1]},
		{"stanza body tampered", replaceStanza(t, forMine, func(args []string, body string) ([]string, string) {
			return args, flipBase64(body)
		})},
		{"low-order share", replaceStanza(t, forMine, func(args []string, body string) ([]string, string) {
			return []string{strings.Repeat("A", 43)}, body
		})},
		{"share not base64", replaceStanza(t, forMine, func(args []string, body string) ([]string, string) {
			return []string{"!!!"}, body
		})},
		{"two arguments", replaceStanza(t, forMine, func(args []string, body string) ([]string, string) {
			return append(args, "x"), body
		})},
		{"header MAC tampered", tamperHeaderMAC(t, forMine)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arm := ageArmor(t, tt.file)
			got, err := openAge(arm, []age.Identity{id})
			r, wantErr := age.Decrypt(agearmor.NewReader(strings.NewReader(arm)), mine)
			var want []byte
			if wantErr == nil {
				want, wantErr = io.ReadAll(r)
			}
			if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("openAge: %d bytes, err %v; age: %d bytes, err %v", len(got), err, len(want), wantErr)
			}
		})
	}
}

// TestPreparedIdentityKeys: a prepared key reads back to the same public
// key; one that does not is left to age.
func TestPreparedIdentityKeys(t *testing.T) {
	for range 20 {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		p, ok := prepared(id).(*x25519Identity)
		if !ok {
			t.Fatal("a generated key was not prepared")
		}
		want, err := bech32Data(id.Recipient().String())
		if err != nil || !bytes.Equal(p.pub, want) || !bytes.Equal(p.priv.PublicKey().Bytes(), want) {
			t.Fatal("prepared key has another public key")
		}
	}
	if _, err := bech32Data("AGE-SECRET-KEY-1B!"); err == nil {
		t.Error("bech32Data accepted a character outside the charset")
	}
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func ageFile(t testing.TB, plain []byte, to ...age.Recipient) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, to...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(plain); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ageArmor(t testing.TB, file []byte) string {
	t.Helper()
	var buf bytes.Buffer
	w := agearmor.NewWriter(&buf)
	if _, err := w.Write(file); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func flipLast(b []byte) []byte {
	out := bytes.Clone(b)
	out[len(out)-1] ^= 1
	return out
}

func flipBase64(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

// replaceStanza rewrites the first recipient stanza of an age file
// ("-> X25519 ARG\nBODY\n"), leaving the header MAC as it was.
func replaceStanza(t testing.TB, file []byte, change func(args []string, body string) ([]string, string)) []byte {
	t.Helper()
	s := string(file)
	start := strings.Index(s, "\n-> ") + 1
	end := strings.Index(s[start:], "\n---") + start + 1
	lines := strings.SplitN(strings.TrimSuffix(s[start:end], "\n"), "\n", 2)
	fields := strings.Fields(lines[0])
	args, body := change(fields[2:], lines[1])
	stanza := "-> " + strings.Join(append([]string{fields[1]}, args...), " ") + "\n" + body + "\n"
	return []byte(s[:start] + stanza + s[end:])
}

// tamperHeaderMAC changes the header's MAC ("--- MAC\n").
func tamperHeaderMAC(t testing.TB, file []byte) []byte {
	t.Helper()
	i := bytes.Index(file, []byte("\n--- ")) + len("\n--- ")
	mac := string(file[i : i+43])
	if _, err := base64.RawStdEncoding.DecodeString(mac); err != nil {
		t.Fatalf("header MAC: %v", err)
	}
	return append(append(bytes.Clone(file[:i]), flipBase64(mac)...), file[i+43:]...)
}
