package webhook

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func seedFixtures(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParse feeds every payload parser arbitrary bytes: none may panic, and
// a parsed push's Deleted agrees with its After.
func FuzzParse(f *testing.F) {
	seedFixtures(f)
	f.Add([]byte(`{"ref":"refs/heads/x","after":"0000"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for name, p := range providers {
			push, err := p.parse(body)
			if err != nil {
				if push != (Push{}) {
					t.Errorf("%s: error %v with a non-empty push %+v", name, err, push)
				}
				continue
			}
			if zeroSHA(push.After) && !push.Deleted {
				t.Errorf("%s: after %q but not deleted", name, push.After)
			}
		}
	})
}

// FuzzCheckHMAC: a signature is accepted only when it decodes to the HMAC
// of the body.
func FuzzCheckHMAC(f *testing.F) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	f.Add(body, SignatureHeader(secret, body))
	f.Add(body, "sha256=")
	f.Add([]byte{}, strings.ToUpper(SignatureHeader(secret, nil)))
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		err := checkHMAC(secret, body, sig, true)
		h, _ := strings.CutPrefix(sig, "sha256=")
		raw, decErr := hex.DecodeString(h)
		want := strings.HasPrefix(sig, "sha256=") && decErr == nil && bytes.Equal(raw, Sign(secret, body))
		if (err == nil) != want {
			t.Errorf("checkHMAC(%q, %q) = %v, want accepted=%v", body, sig, err, want)
		}
	})
}
