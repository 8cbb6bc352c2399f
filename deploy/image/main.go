package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// usageError is a bad flag or argument: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		var ue *usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// outputs say where the built image goes; at least one is set.
type outputs struct {
	oci     string // OCI image layout directory
	tarball string // docker-style tarball (one platform)
	tag     string // the tarball's repo:tag
	push    string // registry reference
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	opts := DefaultOptions()
	var out outputs
	var platforms, created string
	fs := flag.NewFlagSet("image", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&opts.Package, "package", opts.Package, "Go main package to build")
	fs.StringVar(&opts.Dir, "dir", opts.Dir, "directory go build runs in")
	fs.StringVar(&platforms, "platform", "linux/"+opts.Platforms[0].Architecture, "comma-separated os/arch[/variant] list")
	fs.StringVar(&opts.Version, "version", opts.Version, "version stamped into the binary and the labels")
	fs.StringVar(&opts.Commit, "commit", "", "commit stamped into the binary and the labels")
	fs.StringVar(&created, "created", os.Getenv("SOURCE_DATE_EPOCH"), "time of every file and the image, Unix seconds (default $SOURCE_DATE_EPOCH, else 0)")
	fs.StringVar(&opts.CACerts, "ca-certs", opts.CACerts, "CA bundle copied into the image")
	fs.StringVar(&opts.Source, "source", opts.Source, "org.opencontainers.image.source label")
	fs.StringVar(&out.oci, "oci", "", "write an OCI image layout to this directory")
	fs.StringVar(&out.tarball, "tarball", "", "write a docker-style tarball (one platform) to this file")
	fs.StringVar(&out.tag, "tag", "steward:latest", "repo:tag recorded in the tarball")
	fs.StringVar(&out.push, "push", "", "push to this registry reference (credentials from the docker config)")
	if err := fs.Parse(args); err != nil {
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected arguments %q", fs.Args())}
	}
	if out.oci == "" && out.tarball == "" && out.push == "" {
		return &usageError{"nothing to do: give --oci DIR, --tarball FILE or --push REF"}
	}
	var err error
	if opts.Platforms, err = parsePlatforms(platforms); err != nil {
		return &usageError{err.Error()}
	}
	if created != "" {
		sec, err := strconv.ParseInt(created, 10, 64)
		if err != nil {
			return &usageError{fmt.Sprintf("--created %q: want Unix seconds", created)}
		}
		opts.Created = time.Unix(sec, 0)
	}
	if out.tarball != "" && len(opts.Platforms) > 1 {
		return &usageError{"--tarball holds one platform: give one --platform or use --oci"}
	}
	res, err := Build(ctx, opts)
	if err != nil {
		return err
	}
	if err := write(ctx, res, out); err != nil {
		return err
	}
	return report(stdout, res)
}

func parsePlatforms(s string) ([]v1.Platform, error) {
	var out []v1.Platform
	for _, f := range strings.Split(s, ",") {
		p, err := v1.ParsePlatform(strings.TrimSpace(f))
		if err != nil || p.OS == "" || p.Architecture == "" {
			return nil, fmt.Errorf("--platform %q: want os/arch[/variant]", f)
		}
		out = append(out, *p)
	}
	return out, nil
}

// write sends the result to every output asked for. One platform is pushed
// as an image, several as an index.
func write(ctx context.Context, res *Result, out outputs) error {
	if out.oci != "" {
		if err := os.RemoveAll(out.oci); err != nil {
			return err
		}
		lp, err := layout.Write(out.oci, empty.Index)
		if err != nil {
			return fmt.Errorf("write %s: %w", out.oci, err)
		}
		for _, b := range res.Images {
			p := b.Platform
			if err := lp.AppendImage(b.Image, layout.WithPlatform(p)); err != nil {
				return fmt.Errorf("write %s: %w", out.oci, err)
			}
		}
	}
	if out.tarball != "" {
		tag, err := name.NewTag(out.tag)
		if err != nil {
			return &usageError{fmt.Sprintf("--tag: %v", err)}
		}
		if err := tarball.WriteToFile(out.tarball, tag, res.Images[0].Image); err != nil {
			return fmt.Errorf("write %s: %w", out.tarball, err)
		}
	}
	if out.push != "" {
		ref, err := name.ParseReference(out.push)
		if err != nil {
			return &usageError{fmt.Sprintf("--push: %v", err)}
		}
		ro := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
		if len(res.Images) == 1 {
			err = remote.Write(ref, res.Images[0].Image, ro...)
		} else {
			err = remote.WriteIndex(ref, res.Index(), ro...)
		}
		if err != nil {
			return fmt.Errorf("push %s: %w", ref.Name(), err)
		}
	}
	return nil
}

// report prints each platform's image digest, and the index's when there
// are several.
func report(w io.Writer, res *Result) error {
	for _, b := range res.Images {
		d, err := b.Image.Digest()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s %s\n", b.Platform.String(), d)
	}
	if len(res.Images) > 1 {
		d, err := res.Index().Digest()
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "index %s\n", d)
	}
	return nil
}
