package packages

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/sources/registry"
)

var errNoRegistry = errors.New("this steward has no registry client for OCI packages")

// resolveOCI resolves the units at idx, all from one OCI repository, at
// their locked digests: one HEAD per locked tag, the content downloaded
// only for a digest not unpacked yet. A tag that now names another digest
// is refused; when the registry cannot be reached the unpacked content of
// the locked digest is used if it is there.
func (r *Resolver) resolveOCI(ctx context.Context, stack *reconcile.Stack, lock *Lock, units []*reconcile.Unit, idx []int, pkgs []*reconcile.ResolvedPackage, errs []error) {
	client, err := r.oci.get(stack)
	if err != nil {
		for _, i := range idx {
			errs[i] = fmt.Errorf("package %s: %w", units[i].Package, err)
		}
		return
	}
	scan := client.Scan()
	for _, i := range idx {
		u, e := units[i], lock.Entry(units[i].Name)
		ref := u.Package
		r.stats.RefLists.Add(1)
		digest, err := scan.Digest(ctx, ref.OCI, e.Ref)
		var rev *reconcile.Revision
		switch {
		case err != nil:
			if rev = r.unpacked(e.Digest); rev == nil {
				errs[i] = fmt.Errorf("package %s: %w (and the locked digest %s is not unpacked here)", ref, err, reconcile.ShortRevision(e.Digest, reconcile.RevisionWidth))
				continue
			}
			r.log.Warn("package registry unreachable; generating the locked version from the local copy",
				"unit", u.Name, "package", ref.String(), "version", e.Version, "digest", e.Digest, "error", err)
		case digest != e.Digest:
			errs[i] = &MismatchError{Unit: u.Name, Package: ref, Ref: ref.OCI + ":" + e.Ref, What: "digest", Locked: e.Digest, Found: digest}
			continue
		}
		if rev == nil {
			if rev, err = r.ociContent(ctx, client, ref.OCI, e.Digest); err != nil {
				errs[i] = fmt.Errorf("package %s: %w", ref, err)
				continue
			}
		}
		l, err := r.load(rev, ref, e.Version)
		if err != nil {
			errs[i] = err
			continue
		}
		if l.hash != e.Hash {
			errs[i] = &MismatchError{Unit: u.Name, Package: ref, Ref: ref.OCI + ":" + e.Ref, What: "content hash", Locked: e.Hash, Found: l.hash}
			continue
		}
		pkgs[i], errs[i] = bind(stack, u, l, rev, ".", e.Version)
	}
}

// freshOCI resolves one unit's OCI package afresh: its tags listed, the
// highest admitted picked.
func (r *Resolver) freshOCI(ctx context.Context, stack *reconcile.Stack, u *reconcile.Unit) (*LockEntry, error) {
	ref := u.Package
	client, err := r.oci.get(stack)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", ref, err)
	}
	scan := client.Scan()
	r.stats.RefLists.Add(1)
	tags, err := scan.Tags(ctx, ref.OCI)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", ref, err)
	}
	v, err := Pick(ref, Versions(ref, tags))
	if err != nil {
		return nil, err
	}
	digest, err := scan.Digest(ctx, ref.OCI, v.Tag)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", ref, err)
	}
	rev, err := r.ociContent(ctx, client, ref.OCI, digest)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", ref, err)
	}
	l, err := r.load(rev, ref, v.Tag)
	if err != nil {
		return nil, err
	}
	return &LockEntry{Unit: u.Name, Package: *ref, Version: v.Tag, Ref: v.Tag, Digest: digest, Hash: l.hash}, nil
}

// ociDir is where the content of digest is unpacked.
func (r *Resolver) ociDir(digest string) string {
	return filepath.Join(r.opts.CacheDir, "packages", "oci", strings.ReplaceAll(digest, ":", "-"))
}

// unpacked returns the content of digest when it is unpacked already.
func (r *Resolver) unpacked(digest string) *reconcile.Revision {
	if !strings.HasPrefix(digest, "sha256:") || strings.ContainsAny(digest, "/\\.") {
		return nil
	}
	dir := r.ociDir(digest)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil
	}
	return &reconcile.Revision{ID: digest, Tree: os.DirFS(dir), Dir: dir}
}

// ociContent returns the content of repository@digest, downloading and
// unpacking it the first time.
func (r *Resolver) ociContent(ctx context.Context, client *registry.Client, repository, digest string) (*reconcile.Revision, error) {
	if rev := r.unpacked(digest); rev != nil {
		return rev, nil
	}
	if !strings.HasPrefix(digest, "sha256:") || strings.ContainsAny(digest, "/\\.") {
		return nil, fmt.Errorf("%q is not a sha256 digest", digest)
	}
	r.stats.Fetches.Add(1)
	img, err := client.Image(ctx, repository+"@"+digest)
	if err != nil {
		return nil, err
	}
	final := r.ociDir(digest)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(final), "unpack-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	if err := unpack(img, filepath.Join(tmp, "c")); err != nil {
		return nil, fmt.Errorf("unpack %s@%s: %w", repository, digest, err)
	}
	if err := os.Rename(filepath.Join(tmp, "c"), final); err != nil && r.unpacked(digest) == nil {
		return nil, err
	}
	return r.unpacked(digest), nil
}

// PublishOCI pushes the package in dir of tree as repository:vVERSION. A
// version that exists with other content is refused: published versions
// never move.
func (r *Resolver) PublishOCI(ctx context.Context, repository string, tree fs.FS, dir, version string) (*Published, error) {
	client, err := r.oci.get(nil)
	if err != nil {
		return nil, err
	}
	v, err := parseVersion(version)
	if err != nil {
		return nil, err
	}
	img, err := Artifact(tree, dir)
	if err != nil {
		return nil, err
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	tag := "v" + v.String()
	if have, err := client.Scan().Digest(ctx, repository, tag); err == nil {
		if have == d.String() {
			return &Published{Tag: repository + ":" + tag, Commit: have}, nil
		}
		return nil, fmt.Errorf("%s:%s exists at %s; a published version never moves", repository, tag, have)
	}
	if err := client.Write(ctx, repository+":"+tag, img); err != nil {
		return nil, err
	}
	return &Published{Tag: repository + ":" + tag, Commit: d.String()}, nil
}

// PromoteOCI tags the candidate repository:vVERSION's manifest as its
// stable version (its pre-release dropped): the same digest.
func (r *Resolver) PromoteOCI(ctx context.Context, repository, version string) (*Published, error) {
	client, err := r.oci.get(nil)
	if err != nil {
		return nil, err
	}
	v, err := parseVersion(version)
	if err != nil {
		return nil, err
	}
	if v.Prerelease() == "" {
		return nil, fmt.Errorf("version %s is stable already", version)
	}
	scan := client.Scan()
	digest, err := scan.Digest(ctx, repository, "v"+v.String())
	if err != nil {
		return nil, err
	}
	stable, _ := v.SetPrerelease("")
	tag := "v" + stable.String()
	if have, err := scan.Digest(ctx, repository, tag); err == nil {
		if have == digest {
			return &Published{Tag: repository + ":" + tag, Commit: digest}, nil
		}
		return nil, fmt.Errorf("%s:%s exists at %s; a published version never moves", repository, tag, have)
	}
	if err := client.Tag(ctx, repository, digest, tag); err != nil {
		return nil, err
	}
	return &Published{Tag: repository + ":" + tag, Commit: digest}, nil
}
