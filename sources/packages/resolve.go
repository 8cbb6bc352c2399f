package packages

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/stewardhq/steward/reconcile"
	rpackages "github.com/stewardhq/steward/reconcile/packages"
	"github.com/stewardhq/steward/sources/git"
)

// Resolver resolves package units: at their locked versions for a
// revision (ResolvePackages), or afresh to write the lock (Update).
type Resolver struct {
	opts Options
	log  *slog.Logger
	git  remotes
	oci  registries

	mu     sync.Mutex
	loaded map[string]*loaded // by commit or digest, and directory

	stats Stats
}

var _ reconcile.PackageResolver = (*Resolver)(nil)

// Stats count the requests a Resolver made, for the benchmark and status.
type Stats struct {
	// RefLists are ref advertisements (git ls-remote) or tag lists (OCI).
	RefLists atomic.Int64
	// Fetches are git fetches or OCI blob downloads.
	Fetches atomic.Int64
}

// loaded is a package read from one commit or artifact.
type loaded struct {
	pkg  *rpackages.Package
	hash string
}

// New returns a Resolver; it contacts nothing until asked.
func New(opts Options) (*Resolver, error) {
	if opts.CacheDir == "" {
		return nil, errors.New("packages: cache directory is required")
	}
	def := DefaultOptions()
	if opts.Concurrency <= 0 {
		opts.Concurrency = def.Concurrency
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Resolver{opts: opts, log: opts.Logger, git: remotes{opts: opts}, oci: registries{opts: opts.Registry}, loaded: map[string]*loaded{}}, nil
}

// Stats returns the Resolver's request counters.
func (r *Resolver) Stats() *Stats { return &r.stats }

// Close releases the clones' pack files.
func (r *Resolver) Close() error { return r.git.close() }

// ResolvePackages finds each package unit's content at the version
// steward.lock of rev records: one ref advertisement per repository, a
// fetch only for a commit not in the clone yet. A tag that moved, or
// content whose hash differs from the lock, is refused (*MismatchError);
// a unit missing from the lock, or locked for another package: reference,
// is a *StaleError. When a repository cannot be reached, the locked commit
// is taken from the clone if it is there.
func (r *Resolver) ResolvePackages(ctx context.Context, rev *reconcile.Revision, stack *reconcile.Stack, units []*reconcile.Unit) ([]*reconcile.ResolvedPackage, []error) {
	pkgs := make([]*reconcile.ResolvedPackage, len(units))
	errs := make([]error, len(units))
	lock, err := ReadLock(rev.Tree)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return pkgs, errs
	}
	byRepo := map[string][]int{}
	var repos []string
	for i, u := range units {
		e := lock.Entry(lockName(u))
		switch {
		case e == nil:
			errs[i] = &StaleError{Unit: u.Name, Package: u.Package}
		case e.Package != *u.Package:
			errs[i] = &StaleError{Unit: u.Name, Package: u.Package, Locked: &e.Package}
		default:
			key := repoKey(u.Package)
			if _, ok := byRepo[key]; !ok {
				repos = append(repos, key)
			}
			byRepo[key] = append(byRepo[key], i)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.opts.Concurrency)
	for _, key := range repos {
		idx := byRepo[key]
		g.Go(func() error {
			first := units[idx[0]].Package
			if first.OCI != "" {
				r.resolveOCI(gctx, stack, lock, units, idx, pkgs, errs)
				return nil
			}
			src, err := r.git.get(first.Git)
			if err != nil {
				for _, i := range idx {
					errs[i] = fmt.Errorf("package %s: %w", units[i].Package, err)
				}
				return nil
			}
			r.stats.RefLists.Add(1)
			refs, lerr := src.ListRefs(gctx)
			for _, i := range idx {
				pkgs[i], errs[i] = r.resolveLocked(gctx, src, refs, lerr, stack, units[i], lock.Entry(lockName(units[i])))
			}
			return nil
		})
	}
	_ = g.Wait() // failures are per unit
	return pkgs, errs
}

func repoKey(ref *reconcile.PackageRef) string {
	if ref.OCI != "" {
		return "oci:" + ref.OCI
	}
	return "git:" + ref.Git
}

// resolveLocked finds one unit's locked commit in a repository whose refs
// are refs (or could not be listed: lerr).
func (r *Resolver) resolveLocked(ctx context.Context, src *git.Source, refs *git.Refs, lerr error, stack *reconcile.Stack, u *reconcile.Unit, e *LockEntry) (*reconcile.ResolvedPackage, error) {
	ref := u.Package
	var rev *reconcile.Revision
	if lerr != nil {
		var err error
		if rev, err = src.Cached(e.Commit); err != nil {
			return nil, fmt.Errorf("package %s: %w (and the locked commit %s is not in the local clone)", ref, lerr, reconcile.ShortRevision(e.Commit, reconcile.RevisionWidth))
		}
		r.log.Warn("package repository unreachable; generating the locked version from the local clone",
			"unit", u.Name, "package", ref.String(), "version", e.Version, "commit", e.Commit, "error", lerr)
	} else {
		got, ok := refs.Commits[e.Ref]
		switch {
		case !ok:
			return nil, &MismatchError{Unit: u.Name, Package: ref, Ref: e.Ref, What: "commit", Locked: e.Commit, Found: "no such ref"}
		case got != e.Commit && strings.HasPrefix(e.Ref, "refs/heads/"):
			// edge on a branch: the branch moves on; the lock keeps its commit.
			var err error
			if rev, err = src.Cached(e.Commit); err != nil {
				return nil, fmt.Errorf("package %s: branch %s moved on and the locked commit %s is not in the local clone; run steward packages update", ref, strings.TrimPrefix(e.Ref, "refs/heads/"), reconcile.ShortRevision(e.Commit, reconcile.RevisionWidth))
			}
		case got != e.Commit:
			return nil, &MismatchError{Unit: u.Name, Package: ref, Ref: e.Ref, What: "commit", Locked: e.Commit, Found: got}
		}
		if rev == nil {
			var err error
			if rev, err = r.checkout(ctx, src, refs, ref, e); err != nil {
				return nil, err
			}
		}
	}
	l, err := r.load(rev, ref, e.Version)
	if err != nil {
		return nil, err
	}
	if l.hash != e.Hash {
		return nil, &MismatchError{Unit: u.Name, Package: ref, Ref: e.Ref, What: "content hash", Locked: e.Hash, Found: l.hash}
	}
	return bind(stack, u, l, rev, ref.Dir(), e.Version)
}

// bind gives the unit's parameters to a loaded package.
func bind(stack *reconcile.Stack, u *reconcile.Unit, l *loaded, rev *reconcile.Revision, dir, version string) (*reconcile.ResolvedPackage, error) {
	params, err := rpackages.Params(stack, u, l.pkg)
	if err != nil {
		return nil, err
	}
	return &reconcile.ResolvedPackage{Manifest: l.pkg.Manifest, Revision: rev, Dir: dir, Params: params, Version: version, ContentHash: l.hash}, nil
}

// load reads and hashes the package of ref in rev, once per commit.
func (r *Resolver) load(rev *reconcile.Revision, ref *reconcile.PackageRef, version string) (*loaded, error) {
	key := rev.ID + "\x00" + ref.Dir()
	r.mu.Lock()
	l, ok := r.loaded[key]
	r.mu.Unlock()
	if ok {
		return l, nil
	}
	file := manifestName(ref, version)
	p, err := rpackages.Load(rev.Tree, ref.Dir(), file)
	if err != nil {
		return nil, err
	}
	h, err := rpackages.ContentHash(rev.Tree, ref.Dir())
	if err != nil {
		return nil, err
	}
	l = &loaded{pkg: p, hash: h}
	r.mu.Lock()
	r.loaded[key] = l
	r.mu.Unlock()
	return l, nil
}

// manifestName is how errors name a package's manifest: its repository,
// path and version.
func manifestName(ref *reconcile.PackageRef, version string) string {
	base := reconcile.Redact(ref.Git)
	if ref.OCI != "" {
		base = ref.OCI
	}
	return base + "//" + path.Join(ref.Dir(), reconcile.PackageFile) + "@" + version
}

// checkout reads e's commit of a package repository, fetching it (and
// counting the fetch) when the clone lacks it.
func (r *Resolver) checkout(ctx context.Context, src *git.Source, refs *git.Refs, ref *reconcile.PackageRef, e *LockEntry) (*reconcile.Revision, error) {
	rev, fetched, err := src.Checkout(ctx, e.Ref, refs.Objects[e.Ref], e.Commit)
	if fetched {
		r.stats.Fetches.Add(1)
	}
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", ref, err)
	}
	return rev, nil
}
