package sops

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"gopkg.in/ini.v1"
)

// secretValues are the plain-text secrets of the fixtures: none may appear
// in a ciphertext or in an error.
var secretValues = []string{"hunter2-s3cr3t", "c3VwZXItc2VjcmV0LXRva2Vu", "json-pa55word", "dotenv-pa55word", "tok-123456", "ini-pa55word"}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parsed decodes a file of any of the four formats into comparable data.
func parsed(t testing.TB, f Format, data []byte) any {
	t.Helper()
	switch f {
	case FormatYAML:
		var out []any
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var v any
			if err := dec.Decode(&v); err != nil {
				break
			}
			out = append(out, v)
		}
		return out
	case FormatJSON:
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("decrypted JSON: %v\n%s", err, data)
		}
		return v
	case FormatDotenv:
		m := map[string]string{}
		for line := range strings.SplitSeq(string(data), "\n") {
			if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
				m[k] = v
			}
		}
		return m
	case FormatINI:
		f, err := ini.Load(data)
		if err != nil {
			t.Fatalf("decrypted INI: %v\n%s", err, data)
		}
		m := map[string]map[string]string{}
		for _, s := range f.Sections() {
			if len(s.Keys()) > 0 {
				m[s.Name()] = s.KeysHash()
			}
		}
		return m
	}
	return nil
}

// TestDecryptFormats encrypts each fixture with the sops library for a key
// made in the test and decrypts it: the plain text comes back.
func TestDecryptFormats(t *testing.T) {
	key := newAgeKey(t)
	d := newDecryptor(t, Options{AgeKeyFiles: []string{key.file}})
	tests := []struct {
		name, fixture, regex string
	}{
		{name: "yaml secret", fixture: "secret.yaml"},
		{name: "yaml secret partly encrypted", fixture: "secret.yaml", regex: "^(data|stringData)$"},
		{name: "json", fixture: "values.json"},
		{name: "dotenv", fixture: "app.env"},
		{name: "ini", fixture: "app.ini"},
		{name: "ini partly encrypted", fixture: "app.ini", regex: "^password$"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := fixture(t, tt.fixture)
			enc := encrypt(t, tt.fixture, plain, encryption{age: []string{key.recipient}, encryptedRegex: tt.regex})
			for _, s := range secretValues {
				if bytes.Contains(enc, []byte(s)) {
					t.Fatalf("ciphertext holds %q", s)
				}
			}
			if !Detect(FormatOf(tt.fixture), enc) {
				t.Fatal("Detect: the encrypted file is not recognised")
			}
			got, ok, err := d.Decrypt(tt.fixture, enc)
			if err != nil || !ok {
				t.Fatalf("Decrypt: ok=%v err=%v", ok, err)
			}
			f := FormatOf(tt.fixture)
			if want := parsed(t, f, plain); !reflect.DeepEqual(parsed(t, f, got), want) {
				t.Errorf("decrypted:\n%s\nwant the content of:\n%s", got, plain)
			}
			if tt.regex != "" && f == FormatYAML && !bytes.Contains(enc, []byte("name: db")) {
				t.Errorf("encrypted_regex: metadata.name should stay plain in the ciphertext:\n%s", enc)
			}
		})
	}
}

// TestDecryptPGP decrypts with a secret keyring, no gpg binary or agent.
func TestDecryptPGP(t *testing.T) {
	key := newPGPKey(t)
	plain := fixture(t, "secret.yaml")
	enc := encrypt(t, "secret.yaml", plain, encryption{pgp: []pgpKey{key}})
	d := newDecryptor(t, Options{PGPKeyrings: []string{key.secring}})
	got, ok, err := d.Decrypt("secret.yaml", enc)
	if err != nil || !ok {
		t.Fatalf("Decrypt: ok=%v err=%v", ok, err)
	}
	if !reflect.DeepEqual(parsed(t, FormatYAML, got), parsed(t, FormatYAML, plain)) {
		t.Errorf("decrypted:\n%s", got)
	}
	// The public ring alone holds no secret key.
	if _, err := New(Options{PGPKeyrings: []string{key.pubring}}); err == nil || !strings.Contains(err.Error(), "holds no secret key") {
		t.Errorf("public keyring: err = %v, want it refused", err)
	}
}

// TestDecryptShamir: a file split over two key groups needs a key of each.
func TestDecryptShamir(t *testing.T) {
	a, b := newAgeKey(t), newAgeKey(t)
	plain := fixture(t, "app.env")
	enc := encrypt(t, "app.env", plain, encryption{groups: [][]string{{a.recipient}, {b.recipient}}, threshold: 2})
	both := newDecryptor(t, Options{AgeKeyFiles: []string{a.file, b.file}})
	got, _, err := both.Decrypt("app.env", enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(parsed(t, FormatDotenv, got), parsed(t, FormatDotenv, plain)) {
		t.Errorf("decrypted:\n%s", got)
	}
	one := newDecryptor(t, Options{AgeKeyFiles: []string{a.file}})
	if _, _, err := one.Decrypt("app.env", enc); !errors.Is(err, ErrNoKey) {
		t.Errorf("one group of two: err = %v, want ErrNoKey", err)
	}
}

// TestPassThrough: files without SOPS metadata come back byte for byte,
// whatever they mention.
func TestPassThrough(t *testing.T) {
	d := newDecryptor(t, DefaultOptions())
	for _, name := range []string{"plain.yaml", "secret.yaml", "values.json", "app.env", "app.ini"} {
		data := fixture(t, name)
		got, ok, err := d.Decrypt(name, data)
		if err != nil || ok || !bytes.Equal(got, data) {
			t.Errorf("%s: ok=%v err=%v, changed=%v", name, ok, err, !bytes.Equal(got, data))
		}
	}
	// A SOPS file under a name of no SOPS format is not touched either.
	key := newAgeKey(t)
	enc := encrypt(t, "secret.yaml", fixture(t, "secret.yaml"), encryption{age: []string{key.recipient}})
	if got, ok, err := d.Decrypt("secret.txt", enc); err != nil || ok || !bytes.Equal(got, enc) {
		t.Errorf("secret.txt: ok=%v err=%v", ok, err)
	}
}

// TestRefused covers each way a file is refused: the error names the file
// and wraps the right reason, and holds no key material or plain text.
func TestRefused(t *testing.T) {
	mine, other, third := newAgeKey(t), newAgeKey(t), newAgeKey(t)
	plainYAML := fixture(t, "secret.yaml")
	forMine := encrypt(t, "secret.yaml", plainYAML, encryption{age: []string{mine.recipient}})
	partly := encrypt(t, "secret.yaml", plainYAML, encryption{age: []string{mine.recipient}, encryptedRegex: "^(data|stringData)$"})

	tests := []struct {
		name    string
		keys    []ageKey
		file    string
		data    []byte
		want    error
		field   string // the field the error must name, if any
		mention string // a further text the error must hold
	}{
		{name: "missing key", file: "secret.yaml", data: forMine, want: ErrNoKey, mention: "keys held: none given"},
		{name: "wrong key", keys: []ageKey{other}, file: "secret.yaml", data: forMine, want: ErrNoKey, mention: mine.recipient},
		{name: "another recipient", keys: []ageKey{mine},
			file: "app.env", data: encrypt(t, "app.env", fixture(t, "app.env"), encryption{age: []string{other.recipient, third.recipient}}),
			want: ErrNoKey, mention: third.recipient},
		{name: "tampered MAC", keys: []ageKey{mine}, file: "secret.yaml", data: tamperMAC(t, forMine), want: ErrTampered, mention: "MAC"},
		{name: "tampered lastmodified", keys: []ageKey{mine}, file: "secret.yaml",
			data: replaceOnce(t, forMine, "lastmodified: \"20", "lastmodified: \"19"), want: ErrTampered, mention: "MAC"},
		{name: "plain value edited in a partly encrypted file", keys: []ageKey{mine}, file: "secret.yaml",
			data: replaceOnce(t, partly, "name: db", "name: dc"), want: ErrTampered, mention: "MAC mismatch"},
		{name: "encrypted values swapped", keys: []ageKey{mine}, file: "secret.yaml",
			data: swapValues(t, forMine, "password", "port"), want: ErrTampered, field: "stringData.password"},
		{name: "plain text where encrypted", keys: []ageKey{mine}, file: "secret.yaml",
			data: setValue(t, partly, "password", "hunter2-s3cr3t"), want: ErrTampered, field: "stringData.password"},
		{name: "broken metadata", keys: []ageKey{mine}, file: "secret.yaml",
			data: replaceOnce(t, forMine, "lastmodified: \"", "lastmodified: \"x"), want: ErrMalformed, mention: "metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{}
			for _, k := range tt.keys {
				opts.AgeKeyFiles = append(opts.AgeKeyFiles, k.file)
			}
			d := newDecryptor(t, opts)
			out, _, err := d.Decrypt("apps/db/"+tt.file, tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if out != nil {
				t.Error("a refused file returned content")
			}
			var e *Error
			if !errors.As(err, &e) || e.Path != "apps/db/"+tt.file {
				t.Fatalf("err = %#v, want an *Error naming apps/db/%s", err, tt.file)
			}
			if e.Field != tt.field {
				t.Errorf("field = %q, want %q", e.Field, tt.field)
			}
			msg := err.Error()
			if !strings.Contains(msg, "apps/db/"+tt.file) || !strings.Contains(msg, tt.mention) {
				t.Errorf("error %q should name the file and mention %q", msg, tt.mention)
			}
			assertNoSecrets(t, msg, mine, other, third)
		})
	}
}

// assertNoSecrets fails when text holds a private key or a fixture's
// secret value.
func assertNoSecrets(t testing.TB, text string, keys ...ageKey) {
	t.Helper()
	for _, k := range keys {
		if strings.Contains(text, k.secret) || strings.Contains(text, strings.ToLower(k.secret)) {
			t.Errorf("text holds an age private key: %q", text)
		}
	}
	for _, s := range secretValues {
		if strings.Contains(text, s) {
			t.Errorf("text holds the secret value %q: %q", s, text)
		}
	}
	if strings.Contains(text, "AGE-SECRET-KEY") || strings.Contains(text, "ENC[") {
		t.Errorf("text holds key or cipher material: %q", text)
	}
}

func replaceOnce(t testing.TB, data []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%q not in:\n%s", old, data)
	}
	return bytes.Replace(data, []byte(old), []byte(new), 1)
}

// tamperMAC changes one character inside the encrypted MAC's data.
func tamperMAC(t testing.TB, data []byte) []byte {
	t.Helper()
	i := bytes.Index(data, []byte("mac: ENC[AES256_GCM,data:"))
	if i < 0 {
		t.Fatalf("no mac in:\n%s", data)
	}
	out := bytes.Clone(data)
	p := i + len("mac: ENC[AES256_GCM,data:") + 3
	if out[p] == 'A' {
		out[p] = 'B'
	} else {
		out[p] = 'A'
	}
	return out
}

// yamlValue finds the line "  key: VALUE" and returns VALUE's bounds.
func yamlValue(t testing.TB, data []byte, key string) (int, int) {
	t.Helper()
	i := bytes.Index(data, []byte("\n    "+key+": "))
	if i < 0 {
		t.Fatalf("no %s in:\n%s", key, data)
	}
	start := i + len("\n    "+key+": ")
	end := start + bytes.IndexByte(data[start:], '\n')
	return start, end
}

func swapValues(t testing.TB, data []byte, a, b string) []byte {
	t.Helper()
	as, ae := yamlValue(t, data, a)
	bs, be := yamlValue(t, data, b)
	va, vb := string(data[as:ae]), string(data[bs:be])
	s := string(data)
	s = s[:as] + vb + s[ae:]
	bs, be = yamlValue(t, []byte(s), b)
	return []byte(s[:bs] + va + s[be:])
}

func setValue(t testing.TB, data []byte, key, value string) []byte {
	t.Helper()
	s, e := yamlValue(t, data, key)
	return append(append(bytes.Clone(data[:s]), value...), data[e:]...)
}

// TestKeyFiles: bad key files are refused naming file and line, never
// quoting them.
func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	good := newAgeKey(t)
	bad := filepath.Join(dir, "bad.txt")
	// A mistyped key: the right prefix, a broken body.
	broken := good.secret[:len(good.secret)-4] + "XXXX"
	if err := os.WriteFile(bad, []byte("# comment\n\n"+broken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	plugin := filepath.Join(dir, "plugin.txt")
	if err := os.WriteFile(plugin, []byte("AGE-PLUGIN-YUBIKEY-1QQQQQ\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte("# nothing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"missing file", Options{AgeKeyFiles: []string{filepath.Join(dir, "nope.txt")}}, "nope.txt"},
		{"malformed key", Options{AgeKeyFiles: []string{bad}}, "bad.txt: line 3: malformed age identity"},
		{"plugin", Options{AgeKeyFiles: []string{plugin}}, "line 1: age plugin identities are not supported"},
		{"no key", Options{AgeKeyFiles: []string{empty}}, "empty.txt: holds no age identity"},
		{"missing keyring", Options{PGPKeyrings: []string{filepath.Join(dir, "ring.gpg")}}, "ring.gpg"},
		{"not a keyring", Options{PGPKeyrings: []string{bad}}, "bad.txt: not an OpenPGP keyring"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to hold %q", err, tt.want)
			}
			if strings.Contains(err.Error(), broken) || strings.Contains(err.Error(), "AGE-") {
				t.Errorf("error quotes the key: %v", err)
			}
		})
	}
}

// TestFromEnv: the environment is read only through the getter given, and
// an explicit key file wins.
func TestFromEnv(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvAgeKeyFile {
				return v
			}
			return ""
		}
	}
	if got := DefaultOptions().FromEnv(env("/keys/age.txt")).AgeKeyFiles; !reflect.DeepEqual(got, []string{"/keys/age.txt"}) {
		t.Errorf("from env: %v", got)
	}
	if got := (Options{AgeKeyFiles: []string{"flag.txt"}}).FromEnv(env("/keys/age.txt")).AgeKeyFiles; !reflect.DeepEqual(got, []string{"flag.txt"}) {
		t.Errorf("flag and env: %v", got)
	}
	if got := DefaultOptions().FromEnv(env("")).AgeKeyFiles; got != nil {
		t.Errorf("empty env: %v", got)
	}
}
