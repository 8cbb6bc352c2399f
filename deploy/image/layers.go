package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// entry is one file or directory of a layer. Owner, mode and time are set
// here, never taken from the build host's disk.
type entry struct {
	path     string // absolute path in the image
	dir      bool
	mode     int64
	uid, gid int
	content  []byte
}

// baseLayer holds what a scratch image needs to run a Go program that talks
// TLS as a non-root user: CA certificates, passwd and group entries, /tmp
// and a home directory.
func baseLayer(opts Options, certs []byte) (v1.Layer, error) {
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:%s:/sbin/nologin\n", opts.UID, opts.GID, homeDir)
	group := fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", opts.GID)
	return layer(opts, []entry{
		{path: "/etc", dir: true, mode: 0o755},
		{path: "/etc/passwd", mode: 0o644, content: []byte(passwd)},
		{path: "/etc/group", mode: 0o644, content: []byte(group)},
		{path: "/etc/ssl", dir: true, mode: 0o755},
		{path: "/etc/ssl/certs", dir: true, mode: 0o755},
		{path: caCertsPath, mode: 0o644, content: certs},
		{path: "/home", dir: true, mode: 0o755},
		{path: homeDir, dir: true, mode: 0o700, uid: opts.UID, gid: opts.GID},
		{path: "/tmp", dir: true, mode: 0o1777},
	})
}

// binaryLayer holds the program at binaryPath, owned by root and not
// writable by the user that runs it.
func binaryLayer(opts Options, bin string) (v1.Layer, error) {
	b, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	return layer(opts, []entry{
		{path: "/usr", dir: true, mode: 0o755},
		{path: "/usr/local", dir: true, mode: 0o755},
		{path: "/usr/local/bin", dir: true, mode: 0o755},
		{path: binaryPath, mode: 0o755, content: b},
	})
}

// layer writes entries as a tar stream in path order, every header with the
// same time and no user or group names, and returns it as a gzip layer.
// ggcr compresses with a fixed gzip header, so equal entries give an equal
// digest.
func layer(opts Options, entries []entry) (v1.Layer, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].path < entries[j].path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name:    strings.TrimPrefix(e.path, "/"),
			Mode:    e.mode,
			Uid:     e.uid,
			Gid:     e.gid,
			ModTime: opts.Created,
			Format:  tar.FormatPAX,
		}
		if e.dir {
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.content))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("%s: %w", e.path, err)
		}
		if _, err := tw.Write(e.content); err != nil {
			return nil, fmt.Errorf("%s: %w", e.path, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	data := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
