package main

import (
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

func TestDiffBase(t *testing.T) {
	dir := gitRepo(t)
	secret := func(v string) string {
		return "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: app}\nstringData: {password: " + v + ", user: admin}\n"
	}
	commitFiles(t, dir, "base", map[string]string{
		"steward.yaml": stackHeader + "units:\n  - {name: app, path: app, generator: {yaml: {}}, target: prod}\n",
		"app/cm.yaml":  cm("settings", "1") + "---\n" + cm("old", "x"),
		"app/s.yaml":   secret("hunter2"),
	})
	commitFiles(t, dir, "change", map[string]string{
		"steward.yaml": stackHeader + "units:\n  - {name: app, path: app, generator: {yaml: {}}, target: prod}\n  - {name: extra, path: extra, generator: {yaml: {}}, target: prod}\n",
		"app/cm.yaml":  cm("settings", "2") + "---\n" + cm("new", "y"),
		"app/s.yaml":   secret("correct-horse"),
		"extra/e.yaml": cm("e", "1"),
	})
	// A change in the worktree is not part of any revision.
	writeTree(t, dir, map[string]string{"app/cm.yaml": cm("settings", "worktree")})

	code, out, errOut := run(t, "diff", "--base", "HEAD~1", "-C", dir)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (changes)\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"unit app (target prod): 1 created, 2 changed, 1 deleted",
		"ConfigMap/app/new created",
		"ConfigMap/app/old deleted",
		"-  v: \"1\"\n+  v: \"2\"\n",
		"-  password: '*** (before)'\n+  password: '*** (after)'\n",
		"unit extra (target prod): 1 created, 0 changed, 0 deleted",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
	for _, secretValue := range []string{"hunter2", "correct-horse", "admin"} {
		if strings.Contains(out, secretValue) {
			t.Errorf("diff shows secret value %q", secretValue)
		}
	}
	if strings.Contains(out, "worktree") {
		t.Error("diff read the worktree instead of the revision")
	}

	code, md, _ := run(t, "diff", "--base", "HEAD~1", "--format", "markdown", "-C", dir)
	if code != 1 {
		t.Fatalf("markdown: exit %d", code)
	}
	for _, want := range []string{"| unit | target | created | changed | deleted |", "| app | prod | 1 | 2 | 1 |", "<details><summary><b>app</b>: 1 created, 2 changed, 1 deleted</summary>", "```diff\n", "2 of 2 units changed."} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}

	if code, out, _ := run(t, "diff", "--base", "HEAD", "--head", "main", "-C", dir); code != 0 || out != "no changes\n" {
		t.Fatalf("same revision: exit %d, %q", code, out)
	}
	if code, _, errOut := run(t, "diff", "-C", dir); code != 2 || !strings.Contains(errOut, "--base") {
		t.Fatalf("missing --base: exit %d, %s", code, errOut)
	}
	if code, _, _ := run(t, "diff", "--base", "no-such-rev", "-C", dir); code != 2 {
		t.Fatalf("unknown revision: exit %d, want 2", code)
	}
}

func TestDiffBaseTruncatesLongMarkdown(t *testing.T) {
	dir := gitRepo(t)
	var many, changed strings.Builder
	for i := range 400 {
		many.WriteString(cm("c"+string(rune('a'+i%26))+strings.Repeat("x", i/26), "1") + "---\n")
		changed.WriteString(cm("c"+string(rune('a'+i%26))+strings.Repeat("x", i/26), "2") + "---\n")
	}
	commitFiles(t, dir, "base", map[string]string{
		"steward.yaml": stackHeader + "units:\n  - {name: app, path: app, generator: {yaml: {}}, target: prod}\n",
		"app/cm.yaml":  many.String(),
	})
	commitFiles(t, dir, "all", map[string]string{"app/cm.yaml": changed.String()})
	_, md, _ := run(t, "diff", "--base", "HEAD~1", "--format", "markdown", "-C", dir)
	if !strings.Contains(md, "more lines not shown") || strings.Count(md, "\n") > reconcile.MaxMarkdownDiffLines+40 {
		t.Fatalf("long diff not truncated (%d lines)", strings.Count(md, "\n"))
	}
}
