package main

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/sources/sops/sopstest"
)

// diff --base without keys (CI on a pull request) compares what it can: a
// unit whose SOPS files no key opens is unchanged when it generates the
// same objects from the same ciphertext in both revisions, and is named
// "not compared" when its ciphertext changed; neither ciphertext nor
// plaintext is printed. With the key, the change shows, masked.
func TestSOPSDiffWithoutKeys(t *testing.T) {
	key := sopstest.NewAgeKey(t)
	repo := sopsRepo(t, key.Recipient)
	commitFiles(t, repo, "base", nil)

	commitFiles(t, repo, "plain change", map[string]string{"plain/cm.yaml": cm("plain", "changed")})
	code, out, errOut := run(t, "diff", "--base", "HEAD~1", "-C", repo)
	if code != 1 || !strings.Contains(out, "unit plain (target prod): 0 created, 1 changed, 0 deleted") {
		t.Fatalf("diff of a plain change without keys: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "not compared") {
		t.Errorf("units whose ciphertext did not change are reported as not compared:\n%s", out)
	}

	const newPassword = "yaml-pass-rotated-41c7"
	commitFiles(t, repo, "rotate", map[string]string{
		"secrets/secret.yaml": string(sopstest.Encrypt(t, "secret.yaml",
			[]byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: app\nstringData:\n  password: "+newPassword+"\n"),
			"^(data|stringData)$", key.Recipient)),
	})
	code, out, errOut = run(t, "diff", "--base", "HEAD~1", "-C", repo)
	if code != 1 {
		t.Fatalf("diff of a rotated secret without keys: exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"unit secrets (target prod): not compared: its SOPS files need a key",
		"  not checked: sops: secrets/secret.yaml: no key can decrypt it",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diff without keys lacks %q:\n%s", want, out)
		}
	}
	for _, unit := range []string{"unit plain", "unit app", "unit kust", "unit jn"} {
		if strings.Contains(out, unit) {
			t.Errorf("diff names %s, which did not change:\n%s", unit, out)
		}
	}
	code, md, _ := run(t, "diff", "--base", "HEAD~1", "--format", "markdown", "-C", repo)
	if code != 1 || !strings.Contains(md, "| secrets | prod | 🔒 not compared | | |") || !strings.Contains(md, "secrets/secret.yaml: no key can decrypt it") {
		t.Errorf("markdown diff without keys: exit %d\n%s", code, md)
	}
	code, keyed, errOut := run(t, "diff", "--base", "HEAD~1", "-C", repo, "--sops-age-keys", key.File)
	if code != 1 || !strings.Contains(keyed, "unit secrets (target prod): 0 created, 1 changed, 0 deleted") {
		t.Errorf("diff with the key: exit %d\n%s%s", code, keyed, errOut)
	}
	for _, text := range []string{out, md, keyed, errOut} {
		for _, secret := range append(sopsPlaintexts, newPassword, "ENC[AES256_GCM") {
			if strings.Contains(text, secret) {
				t.Errorf("diff shows %q:\n%s", secret, text)
			}
		}
	}
	// diff --live reads the targets: it refuses a file no key opens, as sync does.
	if code, out, errOut := run(t, "diff", "--live", "-C", repo); code == 0 || !strings.Contains(out+errOut, "no key can decrypt it") {
		t.Errorf("diff --live without keys: exit %d\n%s%s", code, out, errOut)
	}
}
