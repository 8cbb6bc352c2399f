package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	testregistry "github.com/stewardhq/steward/deploy/testenv/registry"
	"github.com/stewardhq/steward/sources/sops/sopstest"
)

// images update without keys (CI) writes an upgrade back to a unit that
// reads a SOPS file no key opens, and says that unit was not checked;
// given the key, the same update checks it.
func TestImagesUpdateWithoutSOPSKeys(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	now := time.Now()
	reg.PushAt(t, "team/app", "1.0.0", now.Add(-48*time.Hour))
	reg.PushAt(t, "team/app", "1.1.0", now.Add(-3*time.Hour))
	reg.PushAt(t, "team/web", "1.0.0", now.Add(-48*time.Hour))
	key := sopstest.NewAgeKey(t)
	const password = "images-pass-8d2e61"
	files := imagesRepo(t, reg, "")
	files["app/secret.yaml"] = string(sopstest.Encrypt(t, "secret.yaml",
		[]byte("apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: apps}\nstringData: {password: "+password+"}\n"),
		"^(data|stringData)$", key.Recipient))
	dir := gitRepo(t)
	writeTree(t, dir, files)
	cfg := filepath.Join(t.TempDir(), "none.json")

	code, out, errOut := run(t, "images", "update", "--dry-run", "-C", dir, "--registry-config", cfg)
	if code != 0 {
		t.Fatalf("dry run without keys: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"+  app: " + reg.Host + "/team/app:1.1.0",
		"app 1.1.0: unit app: not checked: sops: app/secret.yaml: no key can decrypt it",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run without keys lacks %q:\n%s", want, out)
		}
	}
	code, keyed, errOut := run(t, "images", "update", "-C", dir, "--registry-config", cfg, "--sops-age-keys", key.File)
	if code != 0 || strings.Contains(keyed, "not checked") || !strings.Contains(keyed, "wrote 1 files") {
		t.Fatalf("update with the key: exit %d\n%s%s", code, keyed, errOut)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "app", "cm.yaml")); !strings.Contains(string(b), "app:1.1.0") {
		t.Fatalf("file not updated:\n%s", b)
	}
	for _, text := range []string{out, keyed, errOut} {
		if strings.Contains(text, password) || strings.Contains(text, "ENC[AES256_GCM") {
			t.Errorf("images update shows a secret or its ciphertext:\n%s", text)
		}
	}
	// build is not offline: without keys it refuses the file.
	if code, out, errOut := run(t, "build", "-C", dir); code == 0 || !strings.Contains(out+errOut, "app/secret.yaml: no key can decrypt it") {
		t.Errorf("build without keys: exit %d\n%s%s", code, out, errOut)
	}
}
