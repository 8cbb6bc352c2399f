package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// An image FROM steward's with the tools a command generator needs, made
// with go-containerregistry alone: read the OCI layout `make image` wrote,
// append a layer of tools, write a new layout. With a registry, use
// remote.Image and remote.Write instead of the layout calls.
func Example_derivedImage() {
	dir, _ := os.MkdirTemp("", "derived-")
	defer os.RemoveAll(dir)
	// Set-up: what `make image` does (here with a small test program).
	o := DefaultOptions()
	o.Package = "./testdata/hello"
	res, err := Build(context.Background(), o)
	if err == nil {
		err = write(context.Background(), res, outputs{oci: filepath.Join(dir, "steward-image")})
	}
	if err != nil {
		fmt.Println(err)
		return
	}

	// 1. The steward image.
	idx, err := layout.ImageIndexFromPath(filepath.Join(dir, "steward-image"))
	if err != nil {
		fmt.Println(err)
		return
	}
	im, _ := idx.IndexManifest()
	base, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		fmt.Println(err)
		return
	}
	// 2. A layer of tools: any tar, such as `tar -C rootfs -cf tools.tar .`
	// holding static binaries (tarball.LayerFromFile("tools.tar")); here a
	// script. Remember the image has no /bin/sh: ship the shell too.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	script := []byte("#!/bin/sh\necho '[]'\n")
	tw.WriteHeader(&tar.Header{Name: "usr/local/bin/gen.sh", Mode: 0o755, Size: int64(len(script))})
	tw.Write(script)
	tw.Close()
	tools, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		fmt.Println(err)
		return
	}
	// 3. The derived image keeps steward's user, entrypoint and labels.
	derived, err := mutate.Append(base, mutate.Addendum{Layer: tools, History: v1.History{CreatedBy: "tools for command generators"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	lp, err := layout.Write(filepath.Join(dir, "steward-tools"), empty.Index)
	if err == nil {
		err = lp.AppendImage(derived)
	}
	cf, _ := derived.ConfigFile()
	layers, _ := derived.Layers()
	fmt.Println(len(layers), "layers, user", cf.Config.User, err)
	// Output: 3 layers, user 65532:65532 <nil>
}
