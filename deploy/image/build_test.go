package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

var created = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func helloOptions() Options {
	o := DefaultOptions()
	o.Package, o.Version, o.Commit, o.Created = "./testdata/hello", "v1.2.3", "0123abcd", created
	return o
}

func build(t *testing.T, o Options) *Result {
	t.Helper()
	res, err := Build(t.Context(), o)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return res
}

func digest(t *testing.T, img v1.Image) v1.Hash {
	t.Helper()
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// file is one entry of an image's flattened filesystem.
type file struct {
	hdr     *tar.Header
	content []byte
}

// files reads every layer of img, later layers winning.
func files(t *testing.T, img v1.Image) map[string]file {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]file{}
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			out["/"+strings.TrimSuffix(h.Name, "/")] = file{h, b}
		}
		rc.Close()
	}
	return out
}

func TestReproducible(t *testing.T) {
	o := helloOptions()
	a := build(t, o)
	// A second build from a different working state: other temp dirs,
	// another umask, a later wall clock.
	old := umask(0o077)
	b := build(t, o)
	umask(old)
	if da, db := digest(t, a.Images[0].Image), digest(t, b.Images[0].Image); da != db {
		t.Fatalf("same input, different digests: %s and %s", da, db)
	}
	dirs := [2]string{t.TempDir(), t.TempDir()}
	for i, r := range []*Result{a, b} {
		if err := write(t.Context(), r, outputs{oci: dirs[i]}); err != nil {
			t.Fatal(err)
		}
	}
	ia, _ := os.ReadFile(filepath.Join(dirs[0], "index.json"))
	ib, _ := os.ReadFile(filepath.Join(dirs[1], "index.json"))
	if len(ia) == 0 || !bytes.Equal(ia, ib) {
		t.Fatalf("OCI layouts differ:\n%s\n%s", ia, ib)
	}

	// What goes into the image changes the digest.
	for _, tc := range []struct {
		name string
		edit func(*Options)
	}{
		{"commit", func(o *Options) { o.Commit = "4567ef" }},
		{"version", func(o *Options) { o.Version = "v1.2.4" }},
		{"created", func(o *Options) { o.Created = o.Created.Add(time.Second) }},
	} {
		o := helloOptions()
		tc.edit(&o)
		if d := digest(t, build(t, o).Images[0].Image); d == digest(t, a.Images[0].Image) {
			t.Errorf("%s changed, digest did not: %s", tc.name, d)
		}
	}
}

func TestImageContents(t *testing.T) {
	o := helloOptions()
	img := build(t, o).Images[0].Image
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "65532:65532" || cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("config: user %q, platform %s/%s", cf.Config.User, cf.OS, cf.Architecture)
	}
	if got := strings.Join(cf.Config.Entrypoint, " "); got != binaryPath {
		t.Errorf("entrypoint %q", got)
	}
	if !cf.Created.Time.Equal(created) {
		t.Errorf("created %v, want %v", cf.Created.Time, created)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  "v1.2.3",
		"org.opencontainers.image.revision": "0123abcd",
		"org.opencontainers.image.created":  "2026-11-01T12:00:00Z",
		"org.opencontainers.image.source":   "https://github.com/stewardhq/steward",
	} {
		if got := cf.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" || len(m.Layers) != 2 {
		t.Errorf("manifest %s with %d layers", m.MediaType, len(m.Layers))
	}

	fs := files(t, img)
	certs, err := os.ReadFile(o.CACerts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fs[caCertsPath].content, certs) {
		t.Errorf("%s is not the host's CA bundle (%d bytes, want %d)", caCertsPath, len(fs[caCertsPath].content), len(certs))
	}
	if !strings.Contains(string(fs["/etc/passwd"].content), "nonroot:x:65532:65532:") {
		t.Errorf("/etc/passwd:\n%s", fs["/etc/passwd"].content)
	}
	for path, want := range map[string]struct {
		mode     int64
		uid      int
		typeflag byte
	}{
		binaryPath: {0o755, 0, tar.TypeReg},
		"/tmp":     {0o1777, 0, tar.TypeDir},
		homeDir:    {0o700, 65532, tar.TypeDir},
	} {
		h := fs[path].hdr
		if h == nil {
			t.Errorf("%s missing", path)
			continue
		}
		if h.Mode != want.mode || h.Uid != want.uid || h.Typeflag != want.typeflag {
			t.Errorf("%s: mode %o uid %d type %c, want %o %d %c", path, h.Mode, h.Uid, h.Typeflag, want.mode, want.uid, want.typeflag)
		}
	}
	for path, f := range fs {
		if !f.hdr.ModTime.Equal(created) || f.hdr.Uname != "" || f.hdr.Gname != "" {
			t.Errorf("%s: time %v owner names %q/%q: host metadata leaked", path, f.hdr.ModTime, f.hdr.Uname, f.hdr.Gname)
		}
	}

	// The binary in the layer is static and stamped: run it.
	bin := filepath.Join(t.TempDir(), "hello")
	if err := os.WriteFile(bin, fs[binaryPath].content, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin).Output()
	if err != nil || !strings.HasPrefix(string(out), "hello v1.2.3 0123abcd") {
		t.Fatalf("binary from the image: %q, %v", out, err)
	}
	if ldd, err := exec.Command("ldd", bin).CombinedOutput(); err == nil || !strings.Contains(string(ldd), "not a dynamic executable") {
		t.Errorf("binary is not static: ldd says %q", ldd)
	}
}

func TestOutputs(t *testing.T) {
	dir := t.TempDir()
	oci, tb := filepath.Join(dir, "oci"), filepath.Join(dir, "steward.tar")
	var stdout bytes.Buffer
	err := run(t.Context(), []string{"--package", "./testdata/hello", "--version", "v1", "--commit", "c0ffee",
		"--created", "1700000000", "--oci", oci, "--tarball", tb, "--tag", "steward:v1"}, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Fields(stdout.String())
	if len(line) != 2 || line[0] != "linux/"+runtime.GOARCH || !strings.HasPrefix(line[1], "sha256:") {
		t.Fatalf("report %q", stdout.String())
	}
	want, err := v1.NewHash(line[1])
	if err != nil {
		t.Fatal(err)
	}
	ii, err := layout.ImageIndexFromPath(oci)
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != want || im.Manifests[0].Platform.Architecture != runtime.GOARCH {
		t.Fatalf("OCI layout index %+v, want %s", im.Manifests, want)
	}
	img, err := ii.Image(want)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateLayers(img); err != nil {
		t.Fatalf("layout image: %v", err)
	}
	fromTar, err := tarball.ImageFromPath(tb, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The tarball keeps layers and config; its manifest is docker's, so
	// compare what the image is made of.
	cfgA, _ := img.ConfigName()
	cfgB, _ := fromTar.ConfigName()
	if cfgA != cfgB {
		t.Fatalf("tarball config %s, layout config %s", cfgB, cfgA)
	}
}

// validateLayers reads every layer back and checks its digest.
func validateLayers(img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return err
		}
		h, _, err := v1.SHA256(rc)
		rc.Close()
		if err != nil {
			return err
		}
		if d, _ := l.Digest(); d != h {
			return errors.New("layer digest " + d.String() + " does not match its content " + h.String())
		}
	}
	return nil
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"no output", []string{"--package", "./testdata/hello"}, true, "nothing to do"},
		{"bad platform", []string{"--platform", "amd64", "--oci", "x"}, true, `--platform "amd64"`},
		{"windows", []string{"--platform", "windows/amd64", "--package", "./testdata/hello", "--oci", "x"}, false, "only linux"},
		{"bad created", []string{"--created", "yesterday", "--oci", "x"}, true, `--created "yesterday"`},
		{"tarball of two", []string{"--platform", "linux/amd64,linux/arm64", "--tarball", "x"}, true, "one platform"},
		{"stray argument", []string{"--oci", "x", "extra"}, true, "unexpected arguments"},
		{"missing CA bundle", []string{"--package", "./testdata/hello", "--ca-certs", "/nonexistent/ca.crt", "--oci", "x"}, false, "/nonexistent/ca.crt"},
		{"package that does not compile", []string{"--package", "./testdata/broken", "--oci", "x"}, false, "undefined: notDefined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(t.Context(), tc.args, io.Discard)
			var ue *usageError
			if err == nil || errors.As(err, &ue) != tc.usage || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (usage error: %v), want %q (usage error: %v)", err, errors.As(err, &ue), tc.want, tc.usage)
			}
		})
	}
	if _, err := os.Stat("x"); !os.IsNotExist(err) {
		t.Errorf("a failed build left output behind: %v", err)
	}
}

// TestStewardReproducible builds steward itself twice into OCI layouts and
// compares the digests, then runs `steward version` from the image.
func TestStewardReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("builds steward twice; not in -short")
	}
	o := DefaultOptions()
	o.Dir, o.Version, o.Commit, o.Created = filepath.Join("..", ".."), "v0.0.0-test", "feedface", created
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Minute)
	defer cancel()
	var ds [2]v1.Hash
	var img v1.Image
	for i := range ds {
		res, err := Build(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		img = res.Images[0].Image
		ds[i] = digest(t, img)
	}
	if ds[0] != ds[1] {
		t.Fatalf("steward built twice: %s and %s", ds[0], ds[1])
	}
	t.Logf("steward image %s", ds[0])
	bin := filepath.Join(t.TempDir(), "steward")
	if err := os.WriteFile(bin, files(t, img)[binaryPath].content, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.Contains(string(out), "steward v0.0.0-test\ncommit: feedface\n") {
		t.Fatalf("steward version from the image: %q, %v", out, err)
	}
}

func umask(m int) int { return syscall.Umask(m) }

// TestMultiPlatform: several platforms make an index whose manifests carry
// their platforms; the index digest is stable too.
func TestMultiPlatform(t *testing.T) {
	var digests [2]string
	for i := range digests {
		dir := filepath.Join(t.TempDir(), "oci")
		var stdout bytes.Buffer
		err := run(t.Context(), []string{"--package", "./testdata/hello", "--platform", "linux/amd64,linux/arm64",
			"--created", "1700000000", "--oci", dir}, &stdout)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		if len(lines) != 3 || !strings.HasPrefix(lines[2], "index sha256:") {
			t.Fatalf("report %q", stdout.String())
		}
		digests[i] = lines[2]
		ii, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		im, err := ii.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range im.Manifests {
			img, err := ii.Image(m.Digest)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if cf.Architecture != m.Platform.Architecture {
				t.Errorf("manifest for %s holds a %s config", m.Platform.Architecture, cf.Architecture)
			}
			got = append(got, m.Platform.String())
		}
		if strings.Join(got, " ") != "linux/amd64 linux/arm64" {
			t.Fatalf("index platforms %q", got)
		}
	}
	if digests[0] != digests[1] {
		t.Fatalf("two builds: %s and %s", digests[0], digests[1])
	}
}
