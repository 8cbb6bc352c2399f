package packages

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The media types of a package's OCI artifact: an OCI image manifest whose
// config says it is a steward package and whose one layer is the package
// directory as a gzipped tar.
const (
	ConfigMediaType  types.MediaType = "application/vnd.steward.package.config.v1+json"
	ContentMediaType types.MediaType = "application/vnd.steward.package.content.v1.tar+gzip"
)

// maxArtifactBytes caps a package's unpacked content.
const maxArtifactBytes = 64 << 20

// Artifact packs the package in dir of tree as an OCI artifact: regular
// files only, in path order, with fixed times and modes 0644 or 0755, so
// the same content always gives the same digest.
func Artifact(tree fs.FS, dir string) (v1.Image, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	err := fs.WalkDir(tree, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: only regular files go into a package artifact", p)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := int64(0o644)
		if info.Mode()&0o111 != 0 {
			mode = 0o755
		}
		rel := strings.TrimPrefix(p, dir+"/")
		if dir == "." {
			rel = p
		}
		data, err := fs.ReadFile(tree, p)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: rel, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", dir, err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), ConfigMediaType)
	return mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(buf.Bytes(), ContentMediaType), MediaType: ContentMediaType})
}

// unpack writes the content layer of a package artifact under dir (which
// must not exist): regular files and their directories only, no path
// leaving dir, at most maxArtifactBytes.
func unpack(img v1.Image, dir string) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	if len(layers) != 1 {
		return fmt.Errorf("a package artifact has one layer, this one %d", len(layers))
	}
	if mt, err := layers[0].MediaType(); err != nil || mt != ContentMediaType {
		return fmt.Errorf("not a steward package: layer media type %q", mt)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(rc)
	var total int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(hdr.Name)
		if hdr.Typeflag != tar.TypeReg || !fs.ValidPath(name) || name == "." {
			return fmt.Errorf("package artifact: %q is not a regular file inside the package", hdr.Name)
		}
		if total += hdr.Size; total > maxArtifactBytes {
			return fmt.Errorf("package artifact: more than %d bytes", maxArtifactBytes)
		}
		if d := path.Dir(name); d != "." {
			if err := root.MkdirAll(filepath.FromSlash(d), 0o755); err != nil {
				return err
			}
		}
		mode := os.FileMode(0o644)
		if hdr.Mode&0o111 != 0 {
			mode = 0o755
		}
		f, err := root.OpenFile(filepath.FromSlash(name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, io.LimitReader(tr, hdr.Size))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}
