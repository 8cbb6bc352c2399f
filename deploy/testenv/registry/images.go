package registry

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"
)

// Image returns a small image (no layers) whose config has the given
// created time and a label with salt, so that two calls with different
// salts or times have different digests.
func Image(tb testing.TB, created time.Time, salt string) v1.Image {
	tb.Helper()
	img, err := mutate.ConfigFile(empty.Image, &v1.ConfigFile{
		Architecture: "amd64",
		OS:           "linux",
		Created:      v1.Time{Time: created.UTC().Truncate(time.Second)},
		Config:       v1.Config{Labels: map[string]string{"dev.steward.test/salt": salt}},
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		tb.Fatalf("registry: image: %v", err)
	}
	return img
}

// Push uploads img as repo:tag and returns its manifest digest.
func (r *Registry) Push(tb testing.TB, repo, tag string, img v1.Image) v1.Hash {
	tb.Helper()
	ref, err := name.NewTag(r.Repo(repo)+":"+tag, name.Insecure)
	if err != nil {
		tb.Fatalf("registry: %v", err)
	}
	if err := remote.Write(ref, img, r.remoteOptions(tb.Context())...); err != nil {
		tb.Fatalf("registry: push %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		tb.Fatalf("registry: digest: %v", err)
	}
	return d
}

// PushAt is Push of Image(created, repo+":"+tag).
func (r *Registry) PushAt(tb testing.TB, repo, tag string, created time.Time) v1.Hash {
	tb.Helper()
	return r.Push(tb, repo, tag, Image(tb, created, repo+":"+tag))
}

// Tags points every tag of tags at img in repo (one manifest PUT per tag,
// eight at a time after the first push), for tests that need many tags.
func (r *Registry) Tags(tb testing.TB, repo string, img v1.Image, tags []string) {
	tb.Helper()
	if len(tags) == 0 {
		return
	}
	r.Push(tb, repo, tags[0], img)
	g, ctx := errgroup.WithContext(tb.Context())
	g.SetLimit(8)
	opts := r.remoteOptions(ctx)
	for _, tag := range tags[1:] {
		g.Go(func() error {
			ref, err := name.NewTag(r.Repo(repo)+":"+tag, name.Insecure)
			if err != nil {
				return err
			}
			if err := remote.Tag(ref, img, opts...); err != nil {
				return fmt.Errorf("tag %s: %w", ref, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		tb.Fatalf("registry: %v", err)
	}
}

// SeedTags is Tags for benchmarks that need tens of thousands of tags: it
// pushes img once as tags[0] through the API, then writes the other tags'
// links straight into the registry's filesystem storage, in the layout the
// registry itself writes (registry/storage/paths.go: a tag is
// _manifests/tags/TAG/current/link and .../index/sha256/HEX/link holding
// the digest). The registry serves them like pushed tags.
func (r *Registry) SeedTags(tb testing.TB, repo string, img v1.Image, tags []string) {
	tb.Helper()
	if len(tags) == 0 {
		return
	}
	d := r.Push(tb, repo, tags[0], img)
	link := []byte(d.String())
	base := filepath.Join(r.Root, "docker", "registry", "v2", "repositories", filepath.FromSlash(repo), "_manifests", "tags")
	for _, tag := range tags[1:] {
		for _, dir := range []string{
			filepath.Join(base, tag, "current"),
			filepath.Join(base, tag, "index", d.Algorithm, d.Hex),
		} {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				tb.Fatalf("registry: seed: %v", err)
			}
			if err := os.WriteFile(filepath.Join(dir, "link"), link, 0o644); err != nil {
				tb.Fatalf("registry: seed: %v", err)
			}
		}
	}
}

func (r *Registry) remoteOptions(ctx context.Context) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(http.DefaultTransport)}
	if r.opts.User != "" || r.opts.Password != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: r.opts.User, Password: r.opts.Password}))
	}
	return opts
}
