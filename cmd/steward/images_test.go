package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	testregistry "github.com/stewardhq/steward/deploy/testenv/registry"
	"github.com/stewardhq/steward/sources/forge/forgetest"
)

// imagesRepo is a stack with two policies on a real registry.
func imagesRepo(t *testing.T, reg *testregistry.Registry, update string) map[string]string {
	t.Helper()
	h := reg.Host
	return map[string]string{
		"steward.yaml": stackHeader + `units:
  - {name: app, path: app, generator: {yaml: {}}, target: prod}
images:
  insecureRegistries: [` + h + `]
  policies:
    - {name: app, image: ` + h + `/team/app, semver: ">=1.0.0"}
    - {name: web, image: ` + h + `/team/web, semver: "~1.0"}
` + update + `checks:
  - {name: no-devil, match: {kind: ConfigMap}, cel: "!object.data.web.endsWith(':1.0.666')", message: "1.0.666 is refused"}
`,
		"app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: apps}\ndata:\n" +
			"  app: " + h + "/team/app:1.0.0 # {\"$imagepolicy\": \"app\"}\n" +
			"  web: " + h + "/team/web:1.0.0 # {\"$imagepolicy\": \"web\"}\n",
	}
}

func TestImagesListAndUpdateWorkingTree(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	now := time.Now()
	reg.PushAt(t, "team/app", "1.0.0", now.Add(-48*time.Hour))
	reg.PushAt(t, "team/app", "1.1.0", now.Add(-3*time.Hour))
	reg.PushAt(t, "team/web", "1.0.0", now.Add(-48*time.Hour))
	reg.PushAt(t, "team/web", "1.0.666", now.Add(-time.Hour))
	dir := gitRepo(t)
	writeTree(t, dir, imagesRepo(t, reg, ""))
	cfg := filepath.Join(t.TempDir(), "none.json")

	code, out, errOut := run(t, "images", "list", "-C", dir, "--registry-config", cfg)
	if code != 0 {
		t.Fatalf("list: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"POLICY", "app ", "1.1.0", "[1.0.0]", "3h0m0s", "update"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}

	before, _ := os.ReadFile(filepath.Join(dir, "app", "cm.yaml"))
	code, out, _ = run(t, "images", "update", "--dry-run", "-C", dir, "--registry-config", cfg)
	if code != 1 { // web's change fails the checks
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"web 1.0.666: not committed: ", "1.0.666 is refused",
		"-  app: " + reg.Host + "/team/app:1.0.0", "+  app: " + reg.Host + "/team/app:1.1.0",
		"app 1.1.0: app/cm.yaml:5: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "app", "cm.yaml")); string(after) != string(before) {
		t.Fatal("dry run changed the file")
	}
	code, out, _ = run(t, "images", "update", "-C", dir, "--registry-config", cfg)
	if code != 1 || !strings.Contains(out, "wrote 1 files") {
		t.Fatalf("update: exit %d\n%s", code, out)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "app", "cm.yaml"))
	if !strings.Contains(string(after), "app:1.1.0") || !strings.Contains(string(after), "web:1.0.0") {
		t.Fatalf("file:\n%s", after)
	}
	if code, out, _ := run(t, "verify", "-C", dir); code != 0 {
		t.Fatalf("verify after update: %s", out)
	}

	// An unreachable registry: nothing written, exit 1.
	broken := imagesRepo(t, reg, "")
	broken["steward.yaml"] = strings.ReplaceAll(broken["steward.yaml"], reg.Host, "127.0.0.1:1")
	broken["app/cm.yaml"] = string(after)
	writeTree(t, dir, map[string]string{"steward.yaml": broken["steward.yaml"]})
	code, out, _ = run(t, "images", "update", "-C", dir, "--registry-config", cfg)
	if code != 1 || !strings.Contains(out, "app: no choice: ") || !strings.Contains(out, "nothing to update") {
		t.Fatalf("broken registry: exit %d\n%s", code, out)
	}
	if now, _ := os.ReadFile(filepath.Join(dir, "app", "cm.yaml")); string(now) != string(after) {
		t.Fatal("file changed")
	}
}

func TestImagesUpdatePush(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushAt(t, "team/app", "1.0.0", time.Now())
	reg.PushAt(t, "team/web", "1.0.0", time.Now())
	srv := gitserver.Start(t, gitserver.Options{User: "bot", Password: "git-pass-31"})
	t.Setenv("STEWARD_GIT_USERNAME", "bot")
	t.Setenv("STEWARD_GIT_PASSWORD", "git-pass-31")
	fake := forgetest.Start(t, "pr-token-55")
	t.Setenv("STEWARD_PULL_REQUEST_TOKEN", "pr-token-55")
	repo := srv.NewRepo(t, "shop")
	repo.Commit(t, "base", imagesRepo(t, reg, `  update:
    pushBranch: image-updates
    pullRequest: {provider: gitea, repo: org/shop, url: `+fake.URL+`}
    author: {name: Bot, email: bot@example.invalid}
    message: "images: {{.Subject}}\n{{range .Changes}}\n* {{.File}} {{.New}}{{end}}\n"
`))
	reg.PushAt(t, "team/app", "1.2.0", time.Now())
	cfg := filepath.Join(t.TempDir(), "none.json")
	code, out, errOut := run(t, "images", "update", "--push", "--repo", repo.URL, "--allow-insecure-http", "--registry-config", cfg)
	if code != 0 {
		t.Fatalf("push: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "committed ") || !strings.Contains(out, " to image-updates") || !strings.Contains(out, "pull request #1 opened") {
		t.Fatalf("output:\n%s", out)
	}
	if strings.Contains(out+errOut, "git-pass-31") || strings.Contains(out+errOut, "pr-token-55") {
		t.Fatal("a secret reached the output")
	}
	msg := repo.GitBare(t, "log", "-1", "--format=%an|%B", "image-updates")
	if !strings.HasPrefix(msg, "Bot|images: steward: app 1.2.0") || !strings.Contains(msg, "* app/cm.yaml "+reg.Host+"/team/app:1.2.0") {
		t.Fatalf("commit:\n%s", msg)
	}
	prs := fake.PRs()
	if len(prs) != 1 || !strings.Contains(prs[0].Body, "| app | prod | 0 | 1 | 0 |") {
		t.Fatalf("pull requests: %+v", prs)
	}
	// Again, nothing new: no commit, the pull request stays as it is. (The
	// first run scrubbed the secrets from the environment.)
	t.Setenv("STEWARD_GIT_USERNAME", "bot")
	t.Setenv("STEWARD_GIT_PASSWORD", "git-pass-31")
	t.Setenv("STEWARD_PULL_REQUEST_TOKEN", "pr-token-55")
	code, out, _ = run(t, "images", "update", "--push", "--dry-run", "--repo", repo.URL, "--allow-insecure-http", "--registry-config", cfg)
	if code != 0 || !strings.Contains(out, "+  app: "+reg.Host+"/team/app:1.2.0") {
		t.Fatalf("dry run: exit %d\n%s", code, out)
	}
}
