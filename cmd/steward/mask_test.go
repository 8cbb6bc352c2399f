package main

import (
	"strings"
	"testing"
)

// A File with sensitive: true is masked like a Secret by every printer:
// diff --base (text and markdown for pull requests) and verify's
// committed-output comparison.
func TestSensitiveFileMaskedByEveryPrinter(t *testing.T) {
	dir := gitRepo(t)
	stack := "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: out}}\n" +
		"units:\n  - {name: keys, path: keys, generator: {yaml: {}}, target: here, output: rendered/keys}\n"
	key := func(v string) string {
		return "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: key}\nspec: {path: /etc/key, content: " + v + ", mode: \"0600\", sensitive: true}\n"
	}
	commitFiles(t, dir, "base", map[string]string{"steward.yaml": stack, "keys/k.yaml": key("hunter2-old")})
	if code, _, errOut := run(t, "build", "-C", dir, "--update-outputs"); code != 0 {
		t.Fatalf("build --update-outputs: %d %s", code, errOut)
	}
	commitFiles(t, dir, "committed output", nil)
	commitFiles(t, dir, "rotate", map[string]string{"keys/k.yaml": key("hunter2-new")})

	code, text, errOut := run(t, "diff", "--base", "HEAD~1", "-C", dir)
	if code != 1 || !strings.Contains(text, "-  content: '*** (before)'\n+  content: '*** (after)'\n") {
		t.Errorf("diff --base: exit %d\n%s%s", code, text, errOut)
	}
	code, md, _ := run(t, "diff", "--base", "HEAD~1", "--format", "markdown", "-C", dir)
	if code != 1 || !strings.Contains(md, "content: '*** (after)'") {
		t.Errorf("diff --base --format markdown: exit %d\n%s", code, md)
	}
	code, verify, _ := run(t, "verify", "-C", dir)
	if code != 1 || !strings.Contains(verify, "committed output differs") || !strings.Contains(verify, "content: '*** (after)'") {
		t.Errorf("verify: exit %d\n%s", code, verify)
	}
	for name, out := range map[string]string{"diff": text, "markdown": md, "verify": verify} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("%s shows the sensitive content:\n%s", name, out)
		}
	}
}
