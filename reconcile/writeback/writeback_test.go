package writeback_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	testregistry "github.com/stewardhq/steward/deploy/testenv/registry"
	"github.com/stewardhq/steward/reconcile/images"
	"github.com/stewardhq/steward/reconcile/writeback"
	"github.com/stewardhq/steward/sources/forge"
	"github.com/stewardhq/steward/sources/forge/forgetest"
	"github.com/stewardhq/steward/sources/git"
)

func TestPushTrackedBranch(t *testing.T) {
	f := newFixture(t, gitserver.Options{User: "bot", Password: "push-secret-77"})
	f.pushTags(t, "team/app", "1.1.0", "2.0.0-rc.1")
	f.pushTags(t, "team/web", "1.2.0")
	base := f.repo.Head(t)
	props := images.Proposals(f.scan(t, f.stack), nil)
	if len(props) != 2 {
		t.Fatalf("proposals = %d", len(props))
	}
	remote := f.remote(t, git.Auth{Username: "bot", Password: "push-secret-77"})
	res, err := writeback.Push(t.Context(), remote, props, f.options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Commit == "" || res.Attempts != 1 || res.Branch != "main" || res.Base != base {
		t.Fatalf("result = %+v", res)
	}
	if got := f.repo.GitBare(t, "rev-parse", "main"); got != res.Commit {
		t.Fatalf("main = %s, want %s", got, res.Commit)
	}
	if got := f.repo.GitBare(t, "rev-parse", "main^"); got != base {
		t.Fatalf("parent = %s, want %s (a fast-forward)", got, base)
	}
	host := f.reg.Host
	want := strings.NewReplacer("app:1.0.0", "app:1.1.0", "web:1.0.0", "web:1.2.0", "HOST", host).Replace(appCM)
	if got := f.show(t, "main", "apps/app/cm.yaml") + "\n"; got != want {
		t.Fatalf("apps/app/cm.yaml:\n%s\nwant:\n%s", got, want)
	}
	if got := f.show(t, "main", "apps/web/cm.yaml"); !strings.Contains(got, "tag: '1.2.0' # {") {
		t.Fatalf("apps/web/cm.yaml:\n%s", got)
	}
	// The committed output was refreshed, so `steward verify` passes.
	if out := f.show(t, "main", "rendered/app/ConfigMap_apps_app.yaml"); !strings.Contains(out, host+"/team/app:1.1.0") {
		t.Fatalf("output not refreshed:\n%s", out)
	}
	msg := f.repo.GitBare(t, "log", "-1", "--format=%B", "main")
	for _, line := range []string{
		"steward: app 1.1.0, web 1.2.0",
		"- app: apps/app/cm.yaml:6: " + host + "/team/app:1.0.0 → " + host + "/team/app:1.1.0 (app)",
		"- app: apps/app/cm.yaml:7: " + host + "/team/web:1.0.0 → " + host + "/team/web:1.2.0 (web)",
		"- web: apps/web/cm.yaml:5: 1.0.0 → 1.2.0 (web)",
	} {
		if !strings.Contains(msg, line) {
			t.Errorf("message lacks %q:\n%s", line, msg)
		}
	}
	if author := f.repo.GitBare(t, "log", "-1", "--format=%an <%ae>", "main"); author != "steward <steward@steward.invalid>" {
		t.Errorf("author = %s", author)
	}
	// Nothing left to do: no second commit.
	res, err = writeback.Push(t.Context(), remote, images.Proposals(f.scan(t, f.stack), nil), f.options())
	if err != nil || res.Commit != "" || len(res.Files) != 0 {
		t.Fatalf("second pass = %+v, %v", res, err)
	}
}

func TestVerifyFailureBlocksOnlyItsChange(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	f.pushTags(t, "team/app", "1.1.0")
	f.pushTags(t, "team/web", "6.6.6")
	res, err := writeback.Push(t.Context(), f.remote(t, git.Auth{}), images.Proposals(f.scan(t, f.stack), nil), f.options())
	if err != nil {
		t.Fatal(err)
	}
	var web, app writeback.Outcome
	for _, o := range res.Outcomes {
		switch o.Policy {
		case "web":
			web = o
		case "app":
			app = o
		}
	}
	if app.Err != nil || len(app.Changes) != 1 {
		t.Fatalf("app outcome = %+v", app)
	}
	if web.Err == nil || web.Detail != "6.6.6" || len(web.Changes) != 0 || !strings.Contains(web.Err.Error(), "no-devil") || !strings.Contains(web.Err.Error(), "tag 6.6.6 is refused") {
		t.Fatalf("web outcome = %+v", web)
	}
	cm := f.show(t, "main", "apps/app/cm.yaml")
	if !strings.Contains(cm, "app:1.1.0") || !strings.Contains(cm, "web:1.0.0") {
		t.Fatalf("app/cm.yaml (web's edit of it must be undone too):\n%s", cm)
	}
	if got := f.show(t, "main", "apps/web/cm.yaml"); !strings.Contains(got, "'1.0.0'") {
		t.Fatalf("web/cm.yaml changed:\n%s", got)
	}
	if msg := f.repo.GitBare(t, "log", "-1", "--format=%B", "main"); strings.Contains(msg, "6.6.6") {
		t.Fatalf("message names the dropped change:\n%s", msg)
	}
}

func TestConcurrentPushKeepsBothCommits(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	f.pushTags(t, "team/app", "1.1.0")
	f.pushTags(t, "team/web", "1.2.0")
	choices := f.scan(t, f.stack)
	var appOnly, webOnly []images.Choice
	for _, c := range choices {
		if c.Policy == "app" {
			appOnly = append(appOnly, c)
		} else {
			webOnly = append(webOnly, c)
		}
	}
	other := f.remote(t, git.Auth{})
	var otherRes *writeback.Result
	// Another writer pushes between this one's fetch and its push.
	a := &hooked{Remote: f.remote(t, git.Auth{}), before: func() {
		var err error
		if otherRes, err = writeback.Push(t.Context(), other, images.Proposals(webOnly, nil), f.options()); err != nil {
			t.Errorf("other writer: %v", err)
		}
	}}
	res, err := writeback.Push(t.Context(), a, images.Proposals(appOnly, nil), f.options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || otherRes == nil || otherRes.Commit == "" {
		t.Fatalf("attempts %d, other %+v", res.Attempts, otherRes)
	}
	log := f.repo.GitBare(t, "log", "--format=%H %s", "main")
	if !strings.Contains(log, res.Commit+" steward: app 1.1.0") || !strings.Contains(log, otherRes.Commit+" steward: web 1.2.0") {
		t.Fatalf("log lacks a commit:\n%s", log)
	}
	if got := f.repo.GitBare(t, "rev-parse", "main^"); got != otherRes.Commit {
		t.Fatalf("main^ = %s, want the other writer's %s", got, otherRes.Commit)
	}
	cm := f.show(t, "main", "apps/app/cm.yaml")
	if !strings.Contains(cm, "app:1.1.0") || !strings.Contains(cm, "web:1.2.0") {
		t.Fatalf("both edits must be there:\n%s", cm)
	}
}

func TestHumanEditOfTheSameLineWins(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	f.pushTags(t, "team/web", "1.2.0")
	r := &hooked{Remote: f.remote(t, git.Auth{}), before: func() {
		f.repo.Commit(t, "pin web by hand", map[string]string{
			"apps/web/cm.yaml": strings.Replace(webCM, "'1.0.0'", "'1.0.5'", 1),
		})
	}}
	res, err := writeback.Push(t.Context(), r, images.Proposals(f.scan(t, f.stack), nil), f.options())
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || res.Commit == "" {
		t.Fatalf("result = %+v", res)
	}
	var web writeback.Outcome
	for _, o := range res.Outcomes {
		if o.Policy == "web" {
			web = o
		}
	}
	if len(web.Skipped) != 1 || !strings.Contains(web.Skipped[0].Skipped, "the human edit wins") || web.Skipped[0].File != "apps/web/cm.yaml" {
		t.Fatalf("web outcome = %+v", web)
	}
	if got := f.show(t, "main", "apps/web/cm.yaml"); !strings.Contains(got, "'1.0.5'") {
		t.Fatalf("human edit lost:\n%s", got)
	}
	if cm := f.show(t, "main", "apps/app/cm.yaml"); !strings.Contains(cm, "web:1.2.0") {
		t.Fatalf("the unconflicted edit must go through:\n%s", cm)
	}
}

func TestPushBranchWithPullRequest(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	fake := forgetest.Start(t, "forge-token-9")
	fc, err := forge.New(forge.Options{Provider: "github", Repo: "org/shop", BaseURL: fake.URL, Token: "forge-token-9"})
	if err != nil {
		t.Fatal(err)
	}
	o := f.options()
	o.PushBranch, o.Forge = "image-updates", fc
	main := f.repo.Head(t)
	remote := f.remote(t, git.Auth{})
	for i, tag := range []string{"1.1.0", "1.2.0"} {
		f.pushTags(t, "team/app", tag)
		res, err := writeback.Push(t.Context(), remote, images.Proposals(f.scan(t, f.stack), nil), o)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.repo.GitBare(t, "rev-parse", "main"); got != main {
			t.Fatalf("main moved to %s", got)
		}
		if got := f.repo.GitBare(t, "rev-parse", "image-updates^"); got != main {
			t.Fatalf("image-updates^ = %s, want main %s (one commit on main, updated in place)", got, main)
		}
		if res.PullRequest == nil || res.PullRequest.Number != 1 || res.PullRequest.Created != (i == 0) {
			t.Fatalf("pull request = %+v", res.PullRequest)
		}
		prs := fake.PRs()
		if len(prs) != 1 || prs[0].Head != "image-updates" || prs[0].Base != "main" || prs[0].Title != "steward: app "+tag {
			t.Fatalf("pull requests = %+v", prs)
		}
		body := prs[0].Body
		for _, want := range []string{
			"### steward diff `" + main[:12],
			"| app | prod | 0 | 1 | 0 |",
			"-  image: " + f.reg.Host + "/team/app:1.0.0",
			"+  image: " + f.reg.Host + "/team/app:" + tag,
			"1 of 1 units changed.",
		} {
			if !strings.Contains(body, want) {
				t.Errorf("body lacks %q:\n%s", want, body)
			}
		}
	}
	if fake.PRs()[0].Updates != 1 {
		t.Fatalf("updates = %d", fake.PRs()[0].Updates)
	}
}

func TestSignedCommitsVerifyWithSteward(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	sshKey := gitserver.NewSSHKey(t, "steward@steward.invalid")
	sshPriv, err := os.ReadFile(sshKey.Private)
	if err != nil {
		t.Fatal(err)
	}
	pgpPriv, pgpPub := pgpKey(t)
	repo, err := git.Open(t.Context(), f.repo.Bare)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	for i, c := range []struct {
		name   string
		key    []byte
		verify git.VerifyOptions
	}{
		{"ssh", sshPriv, git.VerifyOptions{AllowedSigners: sshKey.AllowedSigners}},
		{"openpgp", pgpPriv, git.VerifyOptions{OpenPGPKeyRing: pgpPub}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.pushTags(t, "team/app", []string{"1.1.0", "1.2.0"}[i])
			signer, err := git.NewCommitSigner(c.key)
			if err != nil {
				t.Fatal(err)
			}
			remote := f.remote(t, git.Auth{})
			remote.Signer = signer
			res, err := writeback.Push(t.Context(), remote, images.Proposals(f.scan(t, f.stack), nil), f.options())
			if err != nil || res.Commit == "" {
				t.Fatalf("push: %+v %v", res, err)
			}
			v, err := git.NewVerifier(c.verify)
			if err != nil {
				t.Fatal(err)
			}
			who, err := repo.Verify(t.Context(), res.Commit, v)
			if err != nil || who.Format != c.name {
				t.Fatalf("verify = %+v, %v", who, err)
			}
			// git itself reads the signature header.
			if raw := f.repo.GitBare(t, "cat-file", "commit", res.Commit); !strings.Contains(raw, "gpgsig ") {
				t.Fatalf("no gpgsig header:\n%s", raw)
			}
		})
	}
	if _, err := git.NewCommitSigner([]byte("not a key")); err == nil || strings.Contains(err.Error(), "not a key") {
		t.Fatalf("bad key: %v", err)
	}
}

func pgpKey(t *testing.T) (priv []byte, pub string) {
	t.Helper()
	e, err := openpgp.NewEntity("steward", "", "steward@steward.invalid", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var b, p bytes.Buffer
	w, _ := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w, _ = armor.Encode(&p, openpgp.PublicKeyType, nil)
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return b.Bytes(), p.String()
}

func TestPushRefusedForPermissions(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	f.pushTags(t, "team/app", "1.1.0")
	hook := filepath.Join(f.repo.Bare, "hooks", "pre-receive")
	if err := os.WriteFile(hook, []byte("#!/bin/sh\necho 'bot may not push to main' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	base := f.repo.GitBare(t, "rev-parse", "main")
	res, err := writeback.Push(t.Context(), f.remote(t, git.Auth{}), images.Proposals(f.scan(t, f.stack), nil), f.options())
	var pe *writeback.PushError
	if !errors.As(err, &pe) || pe.Branch != "main" || !strings.Contains(err.Error(), "push to main refused") || !strings.Contains(err.Error(), "declined") {
		t.Fatalf("err = %v", err)
	}
	if res.Attempts != 1 || res.Commit != "" {
		t.Fatalf("result = %+v", res)
	}
	if got := f.repo.GitBare(t, "rev-parse", "main"); got != base {
		t.Fatal("main moved")
	}
}

func TestRegistryFailingCommitsNothing(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	f.pushTags(t, "team/app", "1.1.0")
	broken := strings.ReplaceAll(f.stack, f.reg.Host, "127.0.0.1:1")
	choices := f.scan(t, broken)
	for _, c := range choices {
		if c.Err == nil {
			t.Fatalf("policy %s chose %s from an unreachable registry", c.Policy, c.Tag)
		}
	}
	base := f.repo.GitBare(t, "rev-parse", "main")
	res, err := writeback.Push(t.Context(), f.remote(t, git.Auth{}), images.Proposals(choices, nil), f.options())
	if err != nil || res.Commit != "" || len(res.Outcomes) != 0 {
		t.Fatalf("result = %+v, %v", res, err)
	}
	if got := f.repo.GitBare(t, "rev-parse", "main"); got != base {
		t.Fatal("main moved")
	}
}

func TestRepushedTagUnderDigestPinning(t *testing.T) {
	f := newFixture(t, gitserver.Options{})
	pinned := strings.Replace(f.stack, `semver: ">=1.0.0"}`, `semver: ">=1.0.0", digest: pin}`, 1)
	f.repo.Commit(t, "pin app", map[string]string{"steward.yaml": pinned})
	remote := f.remote(t, git.Auth{})
	first := f.reg.Push(t, "team/app", "1.0.0", testregistry.Image(t, created, "first"))
	res, err := writeback.Push(t.Context(), remote, images.Proposals(f.scan(t, pinned), nil), f.options())
	if err != nil || res.Commit == "" {
		t.Fatalf("pin: %+v %v", res, err)
	}
	if cm := f.show(t, "main", "apps/app/cm.yaml"); !strings.Contains(cm, "team/app:1.0.0@"+first.String()+" # {") {
		t.Fatalf("not pinned:\n%s", cm)
	}
	// The same tag pushed again with other content: a new digest to write.
	second := f.reg.Push(t, "team/app", "1.0.0", testregistry.Image(t, created, "second"))
	if second == first {
		t.Fatal("the re-pushed image has the same digest")
	}
	res, err = writeback.Push(t.Context(), remote, images.Proposals(f.scan(t, pinned), nil), f.options())
	if err != nil || res.Commit == "" {
		t.Fatalf("re-pin: %+v %v", res, err)
	}
	if cm := f.show(t, "main", "apps/app/cm.yaml"); !strings.Contains(cm, "team/app:1.0.0@"+second.String()+" # {") {
		t.Fatalf("digest not moved:\n%s", cm)
	}
	if msg := f.repo.GitBare(t, "log", "-1", "--format=%s", "main"); msg != "steward: app 1.0.0@"+second.String() {
		t.Fatalf("subject = %q", msg)
	}
}
