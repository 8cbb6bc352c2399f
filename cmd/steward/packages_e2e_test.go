package main

// End-to-end tests of ops packages through the CLI against a real git
// http-backend (deploy/testenv/gitserver): package test, publish and
// promote in the package's repository; packages update, verify, build and
// sync in the stack consuming it; and a tampered tag refused.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	testregistry "github.com/stewardhq/steward/deploy/testenv/registry"
	"github.com/stewardhq/steward/sources/registry"
)

// greeterFiles is a package writing one File with a greeting under path.
var greeterFiles = map[string]string{
	"greeter/steward-package.yaml": `apiVersion: steward.dev/v1
kind: Package
name: greeter
description: one File with a greeting
generator: {command: {run: ["sh", "gen.sh"], hermetic: true}}
parameters:
  type: object
  properties:
    greeting: {type: string}
    count: {type: integer, minimum: 1, default: 1}
    path: {type: string, default: /greetings/hello}
  required: [greeting]
  additionalProperties: false
checks:
  - {name: under-greetings, match: {kind: File}, cel: "object.spec.path.startsWith('/greetings/')", message: greetings go under /greetings}
targetKinds: [machines, local]
`,
	"greeter/gen.sh": `#!/bin/sh
cat <<YAML
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: greeting}
spec: {path: "$STEWARD_PARAM_PATH", content: "$STEWARD_PARAM_GREETING x$STEWARD_PARAM_COUNT ($([ -s "$STEWARD_PARAMS" ] && echo params-file))\n"}
YAML
`,
	"greeter/examples/basic/params.yaml": "greeting: hello\ncount: 2\n",
}

func consumerStack(follow, with string, extra ...string) string {
	return `apiVersion: steward.dev/v1
kind: Stack
targets:
  here: {local: {root: OUT}}
  cluster: {kubernetes: {}}
units:
  - name: greet
    package: {git: "URL", path: greeter, ` + follow + `}
    target: here
    with: ` + with + "\n" + strings.Join(extra, "")
}

func TestPackagesEndToEnd(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	pkgRepo := srv.NewRepo(t, "ops")
	pkgRepo.Write(t, greeterFiles)
	cache := t.TempDir()

	// The package's CI: write the expected output once, then test it.
	pkgDir := filepath.Join(pkgRepo.Work, "greeter")
	if code, out, errOut := runIn(t, cache, "package", "test", pkgDir, "--update"); code != 0 {
		t.Fatalf("package test --update: exit %d\n%s%s", code, out, errOut)
	}
	expected, err := os.ReadFile(filepath.Join(pkgDir, "examples/basic/expected/machine.steward.dev_File_greeting.yaml"))
	if err != nil || !strings.Contains(string(expected), "hello x2") || !strings.Contains(string(expected), "path: /greetings/hello") {
		t.Fatalf("expected output: %s (%v)", expected, err)
	}
	code, out, errOut := runIn(t, cache, "package", "test", pkgDir)
	if code != 0 || !strings.Contains(out, "ok    basic (1 objects)") {
		t.Fatalf("package test: exit %d\n%s%s", code, out, errOut)
	}
	pkgRepo.Commit(t, "greeter", nil)

	// Publish a candidate; stable has nothing yet.
	code, out, errOut = runIn(t, cache, "package", "publish", pkgDir, "--version", "1.0.0-rc.1", "--repo", pkgRepo.URL)
	if code != 0 || !strings.Contains(out, "published greeter/v1.0.0-rc.1 at "+pkgRepo.Head(t)) {
		t.Fatalf("publish: exit %d\n%s%s", code, out, errOut)
	}
	rc := pkgRepo.Head(t)

	stack := gitRepo(t)
	outDir := t.TempDir()
	st := strings.NewReplacer("URL", pkgRepo.URL, "OUT", outDir, "  cluster: {kubernetes: {}}\n", "").Replace(consumerStack("channel: stable", "{greeting: hi, count: 3}"))
	commitFiles(t, stack, "stack", map[string]string{"steward.yaml": st})
	code, out, errOut = runIn(t, cache, "packages", "update", "-C", stack)
	if code != 1 || !strings.Contains(errOut, "unit greet: package "+pkgRepo.URL+"//greeter channel stable: no version matches (versions: v1.0.0-rc.1)") {
		t.Fatalf("update with no stable version: exit %d\n%s%s", code, out, errOut)
	}

	// Promote: stable is exactly the candidate's commit.
	code, out, errOut = runIn(t, cache, "package", "promote", "greeter", "1.0.0-rc.1", "--to", "stable", "--repo", pkgRepo.URL)
	if code != 0 || !strings.Contains(out, "greeter/v1.0.0 at "+rc) {
		t.Fatalf("promote: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runIn(t, cache, "packages", "update", "-C", stack, "--dry-run")
	if code != 0 || !strings.Contains(out, "greet: locked v1.0.0") {
		t.Fatalf("update --dry-run: exit %d\n%s%s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(stack, "steward.lock")); !os.IsNotExist(err) {
		t.Fatalf("--dry-run wrote the lock (%v)", err)
	}
	code, out, errOut = runIn(t, cache, "packages", "update", "-C", stack)
	lock, _ := os.ReadFile(filepath.Join(stack, "steward.lock"))
	if code != 0 || !strings.Contains(string(lock), "commit: "+rc) || !strings.Contains(string(lock), "ref: refs/tags/greeter/v1.0.0") {
		t.Fatalf("update: exit %d\n%s%s\nlock:\n%s", code, out, errOut, lock)
	}
	commitFiles(t, stack, "lock", nil)

	code, out, errOut = runIn(t, cache, "verify", "-C", stack)
	if code != 0 || !strings.Contains(out, "package: unit greet: greeter v1.0.0 ("+rc[:12]) {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runIn(t, cache, "build", "-C", stack)
	if code != 0 || !strings.Contains(out, "hi x3") || !strings.Contains(out, "# unit: greet") {
		t.Fatalf("build: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runIn(t, t.TempDir(), "sync", "-C", stack)
	if code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errOut)
	}
	got, err := os.ReadFile(filepath.Join(outDir, "greetings/hello"))
	if err != nil || string(got) != "hi x3 (params-file)\n" {
		t.Fatalf("applied file: %q (%v)", got, err)
	}

	// Someone moves the published tag onto other content: refused, named.
	pkgRepo.Commit(t, "tampered", map[string]string{"greeter/gen.sh": "#!/bin/sh\necho 'apiVersion: v1'\n"})
	moved := pkgRepo.Tag(t, "greeter/v1.0.0", false)
	for _, verb := range []string{"verify", "sync"} {
		code, out, errOut = runIn(t, t.TempDir(), verb, "-C", stack)
		msg := out + errOut
		if code != 1 || !strings.Contains(msg, "refs/tags/greeter/v1.0.0 does not match steward.lock: locked commit "+rc+", found "+moved+"; refused") {
			t.Fatalf("%s after the tag moved: exit %d\n%s", verb, code, msg)
		}
	}
	if got2, _ := os.ReadFile(filepath.Join(outDir, "greetings/hello")); string(got2) != string(got) {
		t.Fatalf("the refused revision changed the applied file: %q", got2)
	}
	// Publishing over an existing version is refused too.
	code, out, errOut = runIn(t, cache, "package", "publish", pkgDir, "--version", "1.0.0-rc.1", "--repo", pkgRepo.URL)
	if code != 1 || !strings.Contains(errOut, "tag greeter/v1.0.0-rc.1 exists at commit "+rc+"; a published version never moves") {
		t.Fatalf("publish over a version: exit %d\n%s%s", code, out, errOut)
	}
}

// Bad inputs of a consuming stack, each an error naming steward.yaml's
// line.
func TestPackagesBadInput(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	pkgRepo := srv.NewRepo(t, "ops")
	pkgRepo.Commit(t, "greeter", greeterFiles)
	pkgRepo.Tag(t, "greeter/v1.0.0", true)
	cache := t.TempDir()

	for _, tc := range []struct {
		name, stack string
		lock        bool // run packages update first
		want        []string
	}{
		{"parameters failing the schema", consumerStack("channel: stable", "{greeting: hi, count: 0}"), true,
			[]string{"steward.yaml:10:33: units[0].with.count: minimum: got 0, want 1 (package greeter, schema /properties/count/minimum)"}},
		{"a parameter of the wrong type", consumerStack("channel: stable", "{greeting: 7}"), true,
			[]string{"steward.yaml:10:22: units[0].with.greeting: got number, want string (package greeter, schema /properties/greeting/type)"}},
		{"unknown channel", consumerStack("channel: nightly", "{greeting: hi}"), false,
			[]string{"units[0].package.channel: unknown channel \"nightly\" (want one of stable, candidate, beta, edge)"}},
		{"version and channel", consumerStack(`channel: stable, version: "1.x"`, "{greeting: hi}"), false,
			[]string{"units[0].package: set version or channel, not both"}},
		{"a target kind the package does not support",
			strings.Replace(consumerStack("channel: stable", "{greeting: hi}"), "target: here", "target: cluster", 1), true,
			[]string{"steward.yaml:9:13: units[0].target: package greeter supports targets of kind machines, local; target \"cluster\" is kubernetes"}},
		{"the package's check", consumerStack("channel: stable", "{greeting: hi, path: /etc/motd}"), true,
			[]string{"package greeter: under-greetings", "greetings go under /greetings"}},
		{"not locked", consumerStack("channel: stable", "{greeting: hi}"), false,
			[]string{"unit greet: package " + pkgRepo.URL + "//greeter channel stable is not in steward.lock; run steward packages update"}},
		{"with: on a unit that installs no package",
			"apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: OUT}}\nunits:\n  - {name: a, path: x, generator: {yaml: {}}, target: here, with: {greeting: hi}}\n", false,
			[]string{"units[0].with: with sets a package's parameters; the unit has no package"}},
		{"a path of its own", consumerStack("channel: stable", "{greeting: hi}", "    path: apps/x\n"), false,
			[]string{"units[0].path: a package unit has no path"}},
		{"credentials in the package URL",
			strings.Replace(consumerStack("channel: stable", "{greeting: hi}"), `git: "URL"`, `git: "https://bot:hunter2@git.example.com/ops.git"`, 1), false,
			[]string{"units[0].package.git: the URL carries credentials, which steward.lock would record"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{"steward.yaml": strings.NewReplacer("URL", pkgRepo.URL, "OUT", t.TempDir()).Replace(tc.stack)})
			if tc.lock {
				if code, out, errOut := runIn(t, cache, "packages", "update", "-C", dir); code != 0 {
					t.Fatalf("update: exit %d\n%s%s", code, out, errOut)
				}
			}
			code, out, errOut := runIn(t, cache, "verify", "-C", dir)
			if strings.Contains(out+errOut, "hunter2") {
				t.Fatalf("verify quoted a credential:\n%s%s", out, errOut)
			}
			for _, w := range tc.want {
				if code != 1 || !strings.Contains(out+errOut, w) {
					t.Fatalf("verify: exit %d, want 1 naming %q\n%s%s", code, w, out, errOut)
				}
			}
		})
	}
}

// An OCI package in the test registry: published, promoted, consumed
// through stable, and refused once its tag is re-pushed.
func TestPackagesOCIEndToEnd(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	repo := reg.Repo("ops/greeter")
	pkgDir := t.TempDir()
	for name, content := range greeterFiles {
		writeTree(t, pkgDir, map[string]string{strings.TrimPrefix(name, "greeter/"): content})
	}
	cache := t.TempDir()
	code, out, errOut := runIn(t, cache, "package", "publish", pkgDir, "--version", "2.0.0-rc.1", "--oci", repo, "--insecure-registry", reg.Host)
	if code != 0 || !strings.Contains(out, "published "+repo+":v2.0.0-rc.1 at sha256:") {
		t.Fatalf("publish: exit %d\n%s%s", code, out, errOut)
	}
	digest := strings.TrimSpace(out[strings.LastIndex(out, " at ")+4:])
	code, out, errOut = runIn(t, cache, "package", "promote", "greeter", "2.0.0-rc.1", "--oci", repo, "--insecure-registry", reg.Host)
	if code != 0 || !strings.Contains(out, repo+":v2.0.0 at "+digest) {
		t.Fatalf("promote: exit %d\n%s%s", code, out, errOut)
	}
	stack := t.TempDir()
	outDir := t.TempDir()
	writeTree(t, stack, map[string]string{"steward.yaml": `apiVersion: steward.dev/v1
kind: Stack
targets:
  here: {local: {root: ` + outDir + `}}
units:
  - name: greet
    package: {oci: "` + repo + `", channel: stable}
    target: here
    with: {greeting: hi}
images:
  insecureRegistries: [` + reg.Host + `]
  policies: []
`})
	code, out, errOut = runIn(t, cache, "packages", "update", "-C", stack)
	lock, _ := os.ReadFile(filepath.Join(stack, "steward.lock"))
	if code != 0 || !strings.Contains(string(lock), "digest: "+digest) || !strings.Contains(string(lock), "version: v2.0.0") {
		t.Fatalf("update: exit %d\n%s%s\n%s", code, out, errOut, lock)
	}
	code, out, errOut = runIn(t, cache, "build", "-C", stack)
	if code != 0 || !strings.Contains(out, "hi x1 (params-file)") {
		t.Fatalf("build: exit %d\n%s%s", code, out, errOut)
	}
	// The stable tag is re-pushed with other content.
	writeTree(t, pkgDir, map[string]string{"gen.sh": "#!/bin/sh\necho 'apiVersion: v1'\n"})
	if code, out, errOut := runIn(t, cache, "package", "publish", pkgDir, "--version", "2.0.0", "--oci", repo, "--insecure-registry", reg.Host); code != 1 || !strings.Contains(errOut, "never moves") {
		t.Fatalf("publish over stable: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runIn(t, cache, "package", "publish", pkgDir, "--version", "2.0.1-rc.1", "--oci", repo, "--insecure-registry", reg.Host)
	if code != 0 {
		t.Fatalf("publish: exit %d\n%s%s", code, out, errOut)
	}
	other := strings.TrimSpace(out[strings.LastIndex(out, " at ")+4:])
	c, err := registry.New(registry.Options{Insecure: []string{reg.Host}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Tag(t.Context(), repo, other, "v2.0.0"); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runIn(t, cache, "verify", "-C", stack)
	if code != 1 || !strings.Contains(out+errOut, repo+":v2.0.0 does not match steward.lock: locked digest "+digest+", found "+other+"; refused") {
		t.Fatalf("verify after the tag was re-pushed: exit %d\n%s%s", code, out, errOut)
	}
}

// diff --base compares a package unit at the versions each revision's
// lock pins.
func TestPackagesDiffBase(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	pkg := srv.NewRepo(t, "ops")
	pkg.Commit(t, "greeter", greeterFiles)
	pkg.Tag(t, "greeter/v1.0.0", false)
	pkg.Commit(t, "greeter 1.1", map[string]string{"greeter/steward-package.yaml": strings.Replace(greeterFiles["greeter/steward-package.yaml"], "default: 1}", "default: 2}", 1)})
	pkg.Tag(t, "greeter/v1.1.0", false)
	cache := t.TempDir()
	stack := gitRepo(t)
	st := strings.NewReplacer("URL", pkg.URL, "OUT", t.TempDir(), "  cluster: {kubernetes: {}}\n", "").Replace(consumerStack(`version: "<1.1"`, "{greeting: hi}"))
	writeTree(t, stack, map[string]string{"steward.yaml": st})
	if code, out, errOut := runIn(t, cache, "packages", "update", "-C", stack); code != 0 {
		t.Fatalf("update: exit %d\n%s%s", code, out, errOut)
	}
	commitFiles(t, stack, "v1.0.0", nil)
	writeTree(t, stack, map[string]string{"steward.yaml": strings.Replace(st, `version: "<1.1"`, `version: "<2"`, 1)})
	if code, out, errOut := runIn(t, cache, "packages", "update", "-C", stack); code != 0 || !strings.Contains(out, "greet: v1.0.0 -> v1.1.0") {
		t.Fatalf("update: exit %d\n%s%s", code, out, errOut)
	}
	commitFiles(t, stack, "v1.1.0", nil)
	code, out, errOut := runIn(t, cache, "diff", "-C", stack, "--base", "HEAD~1")
	if code != 1 || !strings.Contains(out, "-    hi x1 (params-file)\n+    hi x2 (params-file)") {
		t.Fatalf("diff --base: exit %d\n%s%s", code, out, errOut)
	}
}
