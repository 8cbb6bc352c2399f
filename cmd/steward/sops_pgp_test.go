package main

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/sources/sops/sopstest"
)

// A SOPS file encrypted for an OpenPGP key decrypts with the keyring that
// holds its secret key (--sops-pgp-keyring), masked unless
// --show-secrets; without it, or with another key's keyring, the file is
// refused and named with its key's fingerprint.
func TestSOPSPGPKeyring(t *testing.T) {
	key, other := sopstest.NewPGPKey(t), sopstest.NewPGPKey(t)
	const password = "pgp-pass-2e7c90"
	repo := gitRepo(t)
	writeTree(t, repo, map[string]string{
		"steward.yaml": stackHeader + "units:\n  - {name: secrets, path: secrets, generator: {yaml: {}}, target: prod}\n",
		"secrets/secret.yaml": string(sopstest.EncryptPGP(t, "secret.yaml",
			[]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: app}\nstringData: {password: "+password+"}\n"),
			"^(data|stringData)$", key)),
	})
	code, out, errOut := run(t, "build", "-C", repo, "--sops-pgp-keyring", key.Secring)
	if code != 0 || !strings.Contains(out, "name: db") || strings.Contains(out, password) || strings.Contains(out, "ENC[") {
		t.Fatalf("build with the keyring: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, "build", "-C", repo, "--sops-pgp-keyring", key.Secring, "--show-secrets"); code != 0 || !strings.Contains(out, password) {
		t.Fatalf("build --show-secrets: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, "verify", "-C", repo, "--sops-pgp-keyring", key.Secring); code != 0 || !strings.Contains(out, "ok: 1 units, 1 objects") {
		t.Fatalf("verify with the keyring: exit %d\n%s%s", code, out, errOut)
	}
	for name, args := range map[string][]string{
		"no keyring":    nil,
		"another key's": {"--sops-pgp-keyring", other.Secring},
	} {
		code, out, errOut := run(t, append([]string{"build", "-C", repo}, args...)...)
		if code != 1 || !strings.Contains(out+errOut, "sops: secrets/secret.yaml: no key can decrypt it: encrypted for pgp "+key.Fingerprint) || strings.Contains(out+errOut, password) {
			t.Errorf("build with %s: exit %d\n%s%s", name, code, out, errOut)
		}
	}
	// A keyring without a secret key is a usage error, at start-up.
	if code, _, errOut := run(t, "build", "-C", repo, "--sops-pgp-keyring", key.Pubring); code != 2 || !strings.Contains(errOut, "pubring.gpg: holds no secret key") {
		t.Errorf("build with a public keyring: exit %d\n%s", code, errOut)
	}
}
