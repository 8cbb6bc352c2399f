package git

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/stewardhq/steward/reconcile"
)

// ErrRevisionNotFound is returned when a revision names no commit.
var ErrRevisionNotFound = errors.New("unknown revision")

// Repository is a git repository on disk (with a worktree or bare), read
// through its object store.
type Repository struct {
	repo *gogit.Repository
	dir  string
	mu   sync.Mutex // go-git's object storage is not safe for concurrent use
}

// Open opens the repository at dir or in one of its parents (a worktree, a
// bare repository, or a linked worktree).
func Open(ctx context.Context, dir string) (*Repository, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A bare repository or a worktree root first; then a worktree's
	// subdirectory (DetectDotGit does not recognise bare repositories).
	r, err := gogit.PlainOpenWithOptions(dir, &gogit.PlainOpenOptions{EnableDotGitCommonDir: true})
	if errors.Is(err, gogit.ErrRepositoryNotExists) {
		r, err = gogit.PlainOpenWithOptions(dir, &gogit.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	}
	if err != nil {
		if errors.Is(err, gogit.ErrRepositoryNotExists) {
			return nil, fmt.Errorf("open repository %s: not a git repository", dir)
		}
		return nil, fmt.Errorf("open repository %s: %w", dir, err)
	}
	r, err = keepPacksOpen(r)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", dir, err)
	}
	return &Repository{repo: r, dir: dir}, nil
}

// keepPacksOpen reopens r's storage keeping pack files open between object
// reads (go-git's default reopens the pack for every object, which makes
// reading a tree ~10x slower).
func keepPacksOpen(r *gogit.Repository) (*gogit.Repository, error) {
	st, ok := r.Storer.(*filesystem.Storage)
	if !ok {
		return r, nil
	}
	kept := filesystem.NewStorageWithOptions(st.Filesystem(), cache.NewObjectLRUDefault(),
		filesystem.Options{MaxOpenDescriptors: 32})
	return gogit.Open(kept, nil)
}

// Close releases the pack files the repository keeps open.
func (r *Repository) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.repo.Storer.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// Resolve returns the commit id rev names: a full or short SHA, a branch,
// a tag (annotated tags are peeled), HEAD, HEAD~1, HEAD^2, origin/main.
func (r *Repository) Resolve(ctx context.Context, rev string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.resolve(rev)
	if err != nil {
		return "", err
	}
	return h.String(), nil
}

func (r *Repository) resolve(rev string) (plumbing.Hash, error) {
	if strings.TrimSpace(rev) == "" {
		return plumbing.ZeroHash, fmt.Errorf("resolve revision: empty revision")
	}
	h, err := r.repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		if errors.Is(err, plumbing.ErrReferenceNotFound) || errors.Is(err, plumbing.ErrObjectNotFound) {
			return plumbing.ZeroHash, fmt.Errorf("resolve revision %q: %w", rev, ErrRevisionNotFound)
		}
		return plumbing.ZeroHash, fmt.Errorf("resolve revision %q: %w", rev, err)
	}
	return *h, nil
}

// Tree returns the commit rev names with its tree read straight from the
// object store. Revision.Tree is a *TreeFS; Revision.Dir is "".
func (r *Repository) Tree(ctx context.Context, rev string) (*reconcile.Revision, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.resolve(rev)
	if err != nil {
		return nil, err
	}
	return r.revision(h)
}

// revision builds the Revision of commit h; r.mu is held.
func (r *Repository) revision(h plumbing.Hash) (*reconcile.Revision, error) {
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", h, err)
	}
	return revisionOf(c, newTreeFS(r.repo.Storer, &r.mu, c.TreeHash, c.Committer.When)), nil
}

func revisionOf(c *object.Commit, tree *TreeFS) *reconcile.Revision {
	subject, _, _ := strings.Cut(strings.TrimLeft(c.Message, "\n"), "\n")
	return &reconcile.Revision{
		ID:      c.Hash.String(),
		Tree:    tree,
		Time:    c.Committer.When,
		Subject: strings.TrimSpace(subject),
	}
}

// RemoteURL returns the first URL of the named remote ("origin").
func (r *Repository) RemoteURL(name string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rem, err := r.repo.Remote(name)
	if err != nil {
		return "", fmt.Errorf("remote %s: %w", name, err)
	}
	if urls := rem.Config().URLs; len(urls) > 0 {
		return urls[0], nil
	}
	return "", fmt.Errorf("remote %s has no URL", name)
}
