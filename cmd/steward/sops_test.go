package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stewardhq/steward/sources/sops/sopstest"
)

// The plaintexts of the SOPS files of sopsRepo: none may show anywhere but
// in build --show-secrets.
const (
	yamlPassword = "yaml-pass-1f9c2e"
	helmPassword = "helm-pass-77a8b3"
	kustPassword = "kust-pass-5566d1"
	jsonnetToken = "jsonnet-token-9e0f4a"
)

var sopsPlaintexts = []string{yamlPassword, helmPassword, kustPassword, jsonnetToken}

// sopsRepo commits a stack whose yaml, helm and kustomize units read SOPS
// files encrypted for key: a Secret encrypted in part (encrypted_regex)
// beside a plain ConfigMap, a helm values file, and a Secret a kustomization
// builds from, encrypted whole. The yaml unit commits its output.
func sopsRepo(t *testing.T, recipient string) string {
	t.Helper()
	dir := gitRepo(t)
	stack := stackHeader + `units:
  - {name: plain, path: plain, generator: {yaml: {}}, target: prod}
  - {name: secrets, path: secrets, generator: {yaml: {}}, target: prod, output: rendered/secrets}
  - {name: app, path: app, generator: {helm: {chart: ., values: [secrets.yaml]}}, target: prod, namespace: app}
  - {name: kust, path: kust, generator: {kustomize: {}}, target: prod}
  - {name: jn, path: jn, generator: {jsonnet: {file: main.jsonnet}}, target: prod}
`
	secret := func(name, password string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " + name + "\n  namespace: app\nstringData:\n  password: " + password + "\n"
	}
	files := map[string]string{
		"steward.yaml":    stack,
		"plain/cm.yaml":   cm("plain", "visible"),
		"secrets/cm.yaml": cm("settings", "visible"),
		"secrets/secret.yaml": string(sopstest.Encrypt(t, "secret.yaml", []byte(secret("db", yamlPassword)),
			"^(data|stringData)$", recipient)),
		"app/Chart.yaml": "apiVersion: v2\nname: app\nversion: 0.1.0\n",
		"app/templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: app-db}\n" +
			"stringData:\n  password: {{ .Values.db.password | quote }}\n",
		"app/values.yaml":         "db: {password: unset}\n",
		"app/secrets.yaml":        string(sopstest.Encrypt(t, "secrets.yaml", []byte("db:\n  password: "+helmPassword+"\n"), "", recipient)),
		"kust/kustomization.yaml": "resources: [secret.yaml]\nnamespace: app\nlabels: [{pairs: {app: kust}}]\n",
		"kust/secret.yaml":        string(sopstest.Encrypt(t, "secret.yaml", []byte(secret("kust", kustPassword)), "", recipient)),
		"jn/main.jsonnet": "local c = std.parseJson(importstr 'creds.json');\n" +
			"{apiVersion: 'v1', kind: 'Secret', metadata: {name: 'jn', namespace: 'app'}, stringData: {token: c.token}}\n",
		"jn/creds.json": string(sopstest.Encrypt(t, "creds.json", []byte(`{"token": "`+jsonnetToken+`"}`), "", recipient)),
	}
	writeTree(t, dir, files)
	return dir
}

// assertNoPlaintext fails when any output, or any file under the dirs,
// holds a plaintext.
func assertNoPlaintext(t *testing.T, step string, outputs []string, dirs ...string) {
	t.Helper()
	assertNoneShown(t, step, sopsPlaintexts, outputs, dirs...)
}

// assertNoneShown fails when any output, or any file under the dirs, holds
// one of plaintexts.
func assertNoneShown(t *testing.T, step string, plaintexts, outputs []string, dirs ...string) {
	t.Helper()
	for _, out := range outputs {
		for _, p := range plaintexts {
			if strings.Contains(out, p) {
				t.Errorf("%s shows a decrypted value:\n%s", step, out)
			}
		}
	}
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			for _, s := range plaintexts {
				if strings.Contains(string(b), s) {
					t.Errorf("%s: %s holds a decrypted value", step, p)
				}
			}
			return nil
		})
	}
}

// build, verify and --update-outputs decrypt the yaml, helm and kustomize
// units' SOPS files with an age key, show nothing decrypted unless
// --show-secrets, and leave nothing decrypted in the cache or the output
// files; the generators are isolated (their own process), so the keys
// never left steward.
func TestSOPSBuildVerifyWithKey(t *testing.T) {
	key := sopstest.NewAgeKey(t)
	repo := sopsRepo(t, key.Recipient)
	cache := t.TempDir()

	code, out, errOut := runIn(t, cache, "build", "-C", repo, "--sops-age-keys", key.File, "--isolate-generators="+strconv.FormatBool(!raceBuild), "--log-level", "debug")
	if code != 0 {
		t.Fatalf("build: exit %d\n%s", code, errOut)
	}
	for _, want := range []string{"name: db", "name: app-db", "name: kust", "name: jn", "token: '***'", "password: '***'", "value: visible"} {
		if !strings.Contains(out+strings.ReplaceAll(out, "v: visible", "value: visible"), want) {
			t.Errorf("build lacks %q:\n%s", want, out)
		}
	}
	assertNoPlaintext(t, "build", []string{out, errOut}, cache)

	// The same build through the environment, from the memory-less start
	// of a new process (the disk cache holds none of these units).
	t.Setenv("SOPS_AGE_KEY_FILE", key.File)
	code, shown, errOut := runIn(t, cache, "build", "-C", repo, "--show-secrets")
	if code != 0 {
		t.Fatalf("build --show-secrets: exit %d\n%s", code, errOut)
	}
	for _, p := range sopsPlaintexts {
		if !strings.Contains(shown, p) {
			t.Errorf("build --show-secrets lacks %s:\n%s", p, shown)
		}
	}
	if v, ok := os.LookupEnv("SOPS_AGE_KEY_FILE"); ok {
		t.Errorf("SOPS_AGE_KEY_FILE=%s left in the environment", v)
	}

	code, _, errOut = runIn(t, cache, "build", "-C", repo, "--sops-age-keys", key.File, "--update-outputs")
	if code != 0 {
		t.Fatalf("build --update-outputs: exit %d\n%s", code, errOut)
	}
	outDir := t.TempDir()
	code, _, errOut = runIn(t, cache, "build", "-C", repo, "--sops-age-keys", key.File, "-o", outDir, "--show-secrets")
	if code != 0 {
		t.Fatalf("build -o: exit %d\n%s", code, errOut)
	}
	assertNoPlaintext(t, "output files", nil, filepath.Join(repo, "rendered"), outDir, cache)
	entries, _ := os.ReadDir(filepath.Join(repo, "rendered/secrets"))
	var masked bool
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(repo, "rendered/secrets", e.Name()))
		masked = masked || strings.Contains(string(b), "password: '***'")
	}
	if len(entries) != 2 || !masked {
		t.Errorf("committed output: %d files, Secret masked %v", len(entries), masked)
	}

	code, text, errOut := runIn(t, cache, "verify", "-C", repo, "--sops-age-keys", key.File)
	if code != 0 || !strings.HasPrefix(lastLine(text), "ok: 5 units") || strings.Contains(text, "not checked") {
		t.Errorf("verify: exit %d\n%s%s", code, text, errOut)
	}
	assertNoPlaintext(t, "verify", []string{text, errOut})
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// verify without any key (CI on a pull request) checks the plain unit,
// names every SOPS file it could not decrypt, and does not count their
// units as checked; build without a key refuses and names the file.
func TestSOPSVerifyWithoutKeys(t *testing.T) {
	key := sopstest.NewAgeKey(t)
	repo := sopsRepo(t, key.Recipient)
	code, text, errOut := run(t, "verify", "-C", repo)
	if code != 0 {
		t.Fatalf("verify without keys: exit %d\n%s%s", code, text, errOut)
	}
	for _, want := range []string{
		"unit secrets: not checked: sops: secrets/secret.yaml: no key can decrypt it",
		"unit app: not checked: sops: app/secrets.yaml: no key can decrypt it",
		"unit kust: not checked: sops: kust/secret.yaml: no key can decrypt it",
		"unit jn: not checked: sops: jn/creds.json: no key can decrypt it",
		"ok: 1 units, 1 objects checked; 4 units NOT checked",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("verify without keys lacks %q:\n%s", want, text)
		}
	}
	code, _, errOut = run(t, "build", "-C", repo)
	if code != 1 || !strings.Contains(errOut, "secret.yaml: no key can decrypt it") {
		t.Errorf("build without keys: exit %d\n%s", code, errOut)
	}
}

// Each bad key or SOPS file fails with its name and never shows a key or
// a decrypted value.
func TestSOPSBadInput(t *testing.T) {
	key := sopstest.NewAgeKey(t)
	other := sopstest.NewAgeKey(t)
	malformed := filepath.Join(t.TempDir(), "keys.txt")
	if err := os.WriteFile(malformed, []byte("# a key\nAGE-SECRET-KEY-1NOTAKEY\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tamperMAC := func(t *testing.T, repo string) {
		p := filepath.Join(repo, "secrets/secret.yaml")
		b, _ := os.ReadFile(p)
		i := strings.Index(string(b), "mac: ENC[AES256_GCM,data:")
		if i < 0 {
			t.Fatalf("no mac in\n%s", b)
		}
		j := i + len("mac: ENC[AES256_GCM,data:")
		c := byte('A')
		if b[j] == 'A' {
			c = 'B'
		}
		b[j] = c
		writeTree(t, repo, map[string]string{"secrets/secret.yaml": string(b)})
	}
	tamperPlainPart := func(t *testing.T, repo string) {
		p := filepath.Join(repo, "secrets/secret.yaml")
		b, _ := os.ReadFile(p)
		if !strings.Contains(string(b), "name: db") {
			t.Fatalf("the metadata is not in plain text:\n%s", b)
		}
		writeTree(t, repo, map[string]string{"secrets/secret.yaml": strings.Replace(string(b), "name: db", "name: dc", 1)})
	}
	shownInConfigMap := func(t *testing.T, repo string) {
		writeTree(t, repo, map[string]string{"app/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-env}\n" +
			"data:\n  DSN: postgres://app:{{ .Values.db.password }}@db/app\n"})
	}
	tests := []struct {
		name   string
		keys   []string
		change func(*testing.T, string)
		code   int
		want   string
	}{
		{"missing key file", []string{"--sops-age-keys", filepath.Join(t.TempDir(), "absent.txt")}, nil, 2, "age key file: open"},
		{"malformed key file", []string{"--sops-age-keys", malformed}, nil, 2, "keys.txt: line 2: malformed age identity"},
		{"key of another recipient", []string{"--sops-age-keys", other.File}, nil, 1, "sops: secrets/secret.yaml: no key can decrypt it"},
		{"tampered MAC", []string{"--sops-age-keys", key.File}, tamperMAC, 1, "sops: secrets/secret.yaml: changed after it was encrypted"},
		{"plain part of a partly encrypted file changed", []string{"--sops-age-keys", key.File}, tamperPlainPart, 1, "sops: secrets/secret.yaml: changed after it was encrypted: MAC mismatch"},
		{"decrypted value in a ConfigMap", []string{"--sops-age-keys", key.File}, shownInConfigMap, 1, "ConfigMap/app-env holds a value decrypted from app/secrets.yaml where it would be shown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			repo := sopsRepo(t, key.Recipient)
			if tt.change != nil {
				tt.change(t, repo)
			}
			for _, verb := range []string{"build", "verify"} {
				code, out, errOut := run(t, append([]string{verb, "-C", repo}, tt.keys...)...)
				if code != tt.code || !strings.Contains(out+errOut, tt.want) {
					t.Errorf("%s: exit %d, want %d and %q:\n%s%s", verb, code, tt.code, tt.want, out, errOut)
				}
				assertNoPlaintext(t, verb, []string{out, errOut})
				for _, k := range []string{key.Secret, other.Secret, "AGE-SECRET-KEY-1NOTAKEY"} {
					if strings.Contains(out+errOut, k) {
						t.Errorf("%s shows a key", verb)
					}
				}
			}
		})
	}
}

// SOPS_AGE_KEY (identities inline) is not read: steward says so instead of
// silently finding no key.
func TestSOPSInlineKeyRefused(t *testing.T) {
	key := sopstest.NewAgeKey(t)
	t.Setenv("SOPS_AGE_KEY", key.Secret)
	code, _, errOut := run(t, "verify", "-C", sopsRepo(t, key.Recipient))
	if code != 2 || !strings.Contains(errOut, "$SOPS_AGE_KEY is not read") || strings.Contains(errOut, key.Secret) {
		t.Errorf("exit %d\n%s", code, errOut)
	}
	if _, ok := os.LookupEnv("SOPS_AGE_KEY"); ok {
		t.Error("SOPS_AGE_KEY left in the environment")
	}
}

// A sensitive output (a random password) consumed by a unit is masked in
// build where it lands in a Secret, and refused where it would land in a
// field no printer masks; --show-secrets shows it.
func TestSensitiveInputMaskedInBuild(t *testing.T) {
	const password = "example-pw-3c1d9a"
	stack := `apiVersion: steward.dev/v1
kind: Stack
targets:
  prod: {kubernetes: {credentials: prod, namespace: app}}
  db-hosts: {machines: {hosts: ["db1:22"]}}
units:
  - name: db
    path: db
    generator: {yaml: {}}
    target: db-hosts
    outputs:
      password: {random: {length: 24}, example: ` + password + `}
  - name: app
    path: app
    generator: {jsonnet: {file: main.jsonnet}}
    target: prod
    dependsOn: [db]
    inputs: {password: db.password}
`
	secret := "{apiVersion: 'v1', kind: 'Secret', metadata: {name: 'db', namespace: 'app'}, stringData: {password: std.extVar('password')}}"
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"steward.yaml":     stack,
		"db/f.yaml":        "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: motd}\nspec: {path: /etc/motd, content: hi}\n",
		"app/main.jsonnet": secret + "\n",
	})
	code, out, errOut := run(t, "build", "-C", dir, "app")
	if code != 0 || !strings.Contains(out, "password: '***'") || strings.Contains(out+errOut, password) {
		t.Errorf("build: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := run(t, "build", "-C", dir, "app", "--show-secrets"); code != 0 || !strings.Contains(out, password) {
		t.Errorf("build --show-secrets: exit %d\n%s", code, out)
	}
	writeTree(t, dir, map[string]string{"app/main.jsonnet": "[" + secret + ", {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'env', namespace: 'app'}, data: {DSN: 'pg://app:' + std.extVar('password') + '@db'}}]\n"})
	code, out, errOut = run(t, "build", "-C", dir, "app")
	if code != 1 || !strings.Contains(errOut, "input password is sensitive and ConfigMap/app/env holds its value where it would be shown") || strings.Contains(out+errOut, password) {
		t.Errorf("build with the password in a ConfigMap: exit %d\n%s%s", code, out, errOut)
	}
}

// What a generator logs (jsonnet's std.trace) and the error it fails with
// (helm's fail) show *** where they quote a decrypted value, isolated or
// not.
func TestSOPSValuesMaskedInLogsAndErrors(t *testing.T) {
	key := sopstest.NewAgeKey(t)
	repo := sopsRepo(t, key.Recipient)
	writeTree(t, repo, map[string]string{
		"jn/main.jsonnet": "local c = std.parseJson(importstr 'creds.json');\n" +
			"std.trace('token is ' + c.token, {apiVersion: 'v1', kind: 'Secret', metadata: {name: 'jn', namespace: 'app'}, stringData: {token: c.token}})\n",
		"app/templates/check.yaml": "{{ fail (printf \"refusing password %s\" .Values.db.password) }}\n",
	})
	logs, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = logs
	// A race build cannot isolate (see generatorFlags).
	for _, isolate := range []string{"--isolate-generators=false", "--isolate-generators=" + strconv.FormatBool(!raceBuild)} {
		code, out, errOut := run(t, "build", "-C", repo, "--sops-age-keys", key.File, "--log-level", "info", isolate)
		if code != 1 || !strings.Contains(errOut, "refusing password ***") {
			t.Errorf("%s: exit %d, want 1 and helm's failure masked\n%s", isolate, code, errOut)
		}
		assertNoPlaintext(t, "build "+isolate, []string{out, errOut})
	}
	os.Stderr = stderr
	logged, err := os.ReadFile(logs.Name())
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(logged), "token is ***"); n != 2 {
		t.Errorf("std.trace logged masked %d times, want 2:\n%s", n, logged)
	}
	assertNoPlaintext(t, "log", []string{string(logged)})
}
