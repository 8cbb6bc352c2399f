package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Paths inside the image.
const (
	binaryPath  = "/usr/local/bin/steward"
	caCertsPath = "/etc/ssl/certs/ca-certificates.crt"
	homeDir     = "/home/nonroot"
)

// Options configure Build.
type Options struct {
	// Package is the Go main package to build (default ./cmd/steward),
	// relative to Dir.
	Package string
	// Dir is the directory go build runs in (default ".").
	Dir string
	// Platforms are the os/arch[/variant] the image is built for (default
	// linux and the host's architecture). Only linux is supported.
	Platforms []v1.Platform
	// Version and Commit are stamped into the binary (-X main.version,
	// -X main.commit) and the image labels.
	Version, Commit string
	// Created is the time of every file, history entry and the image config
	// (default the Unix epoch). `make image` passes the commit's time.
	Created time.Time
	// CACerts is the CA bundle copied into the image (default Debian's
	// /etc/ssl/certs/ca-certificates.crt).
	CACerts string
	// UID and GID of the user the image runs as (default 65532, "nonroot").
	UID, GID int
	// Source is the org.opencontainers.image.source label.
	Source string
}

// DefaultOptions returns the options Build uses for zero fields.
func DefaultOptions() Options {
	return Options{
		Package:   "./cmd/steward",
		Dir:       ".",
		Platforms: []v1.Platform{{OS: "linux", Architecture: runtime.GOARCH}},
		Version:   "dev",
		Created:   time.Unix(0, 0).UTC(),
		CACerts:   "/etc/ssl/certs/ca-certificates.crt",
		UID:       65532,
		GID:       65532,
		Source:    "https://github.com/stewardhq/steward",
	}
}

func (o *Options) setDefaults() {
	d := DefaultOptions()
	if o.Package == "" {
		o.Package = d.Package
	}
	if o.Dir == "" {
		o.Dir = d.Dir
	}
	if len(o.Platforms) == 0 {
		o.Platforms = d.Platforms
	}
	if o.Version == "" {
		o.Version = d.Version
	}
	if o.Created.IsZero() {
		o.Created = d.Created
	}
	o.Created = o.Created.UTC().Truncate(time.Second)
	if o.CACerts == "" {
		o.CACerts = d.CACerts
	}
	if o.UID == 0 && o.GID == 0 {
		o.UID, o.GID = d.UID, d.GID
	}
	if o.Source == "" {
		o.Source = d.Source
	}
}

func (o *Options) validate() error {
	if o.UID == 0 {
		return errors.New("options: the image must not run as root (UID 0)")
	}
	for _, p := range o.Platforms {
		if p.OS != "linux" || p.Architecture == "" {
			return fmt.Errorf("platform %s: only linux/ARCH[/VARIANT] is supported", p.String())
		}
	}
	return nil
}

// Built is the image of one platform.
type Built struct {
	Platform v1.Platform
	Image    v1.Image
}

// Result is what Build made: one image per platform.
type Result struct {
	Images []Built
}

// Index returns the images as an OCI image index, each manifest annotated
// with its platform.
func (r *Result) Index() v1.ImageIndex {
	var adds []mutate.IndexAddendum
	for _, b := range r.Images {
		p := b.Platform
		adds = append(adds, mutate.IndexAddendum{Add: b.Image, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return mutate.IndexMediaType(mutate.AppendManifests(empty.Index, adds...), types.OCIImageIndex)
}

// Build compiles the package for every platform and assembles an image for
// each. Nothing is written outside a temporary directory.
func Build(ctx context.Context, opts Options) (*Result, error) {
	opts.setDefaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	certs, err := os.ReadFile(opts.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates: %w (on Debian: apt-get install ca-certificates)", err)
	}
	base, err := baseLayer(opts, certs)
	if err != nil {
		return nil, fmt.Errorf("base layer: %w", err)
	}
	tmp, err := os.MkdirTemp("", "steward-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	res := &Result{}
	for _, p := range opts.Platforms {
		bin := filepath.Join(tmp, strings.ReplaceAll(p.String(), "/", "-"), "steward")
		if err := goBuild(ctx, opts, p, bin); err != nil {
			return nil, err
		}
		img, err := assemble(opts, p, base, bin)
		if err != nil {
			return nil, fmt.Errorf("image for %s: %w", p.String(), err)
		}
		res.Images = append(res.Images, Built{Platform: p, Image: img})
	}
	return res, nil
}

// goBuild compiles a static, reproducible binary: no cgo, no build paths,
// no build id, symbol tables stripped.
func goBuild(ctx context.Context, opts Options, p v1.Platform, out string) error {
	ldflags := fmt.Sprintf("-s -w -buildid= -X main.version=%s -X main.commit=%s", opts.Version, opts.Commit)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, opts.Package)
	cmd.Dir = opts.Dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture, "GOFLAGS=")
	if p.Architecture == "arm" && p.Variant != "" {
		cmd.Env = append(cmd.Env, "GOARM="+strings.TrimPrefix(p.Variant, "v"))
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s: %w\n%s", opts.Package, p.String(), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// assemble puts the base layer and the binary's layer into an image whose
// config runs the binary as the non-root user.
func assemble(opts Options, p v1.Platform, base v1.Layer, bin string) (v1.Image, error) {
	app, err := binaryLayer(opts, bin)
	if err != nil {
		return nil, fmt.Errorf("binary layer: %w", err)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img,
		mutate.Addendum{Layer: base, History: v1.History{Created: v1.Time{Time: opts.Created}, CreatedBy: "steward deploy/image: CA certificates, nonroot user, /tmp", Comment: "base"}},
		mutate.Addendum{Layer: app, History: v1.History{Created: v1.Time{Time: opts.Created}, CreatedBy: "go build -trimpath " + opts.Package, Comment: "steward"}},
	)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Created = v1.Time{Time: opts.Created}
	cf.OS, cf.Architecture, cf.Variant, cf.OSVersion = p.OS, p.Architecture, p.Variant, p.OSVersion
	cf.Author = ""
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", opts.UID, opts.GID),
		Entrypoint: []string{binaryPath},
		WorkingDir: homeDir,
		Env: []string{
			"PATH=/usr/local/bin",
			"HOME=" + homeDir,
			"SSL_CERT_FILE=" + caCertsPath,
		},
		Labels: labels(opts),
	}
	return mutate.ConfigFile(img, cf)
}

// labels are the OCI annotation keys, as labels of the image config.
func labels(opts Options) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "steward",
		"org.opencontainers.image.description": "GitOps reconciler for Kubernetes clusters and machines",
		"org.opencontainers.image.version":     opts.Version,
		"org.opencontainers.image.created":     opts.Created.Format(time.RFC3339),
		"org.opencontainers.image.source":      opts.Source,
	}
	if opts.Commit != "" {
		l["org.opencontainers.image.revision"] = opts.Commit
	}
	return l
}
