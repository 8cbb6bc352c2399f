package git

import (
	"context"
	"io/fs"
	"path"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/writeback"
)

// Remote is a Source as image automation's write-back sees it
// (writeback.Remote): fetch a branch, commit in the bare clone, push.
type Remote struct {
	Source *Source
	// Signer, when set, signs every commit.
	Signer CommitSigner
	// Dir is where the stack lives in the repository ("" or "." for the
	// top): revisions are read below it and commit paths put under it.
	Dir string
}

var _ writeback.Remote = (*Remote)(nil)

// FetchBranch fetches branch and returns its newest commit, its tree
// below Dir.
func (r *Remote) FetchBranch(ctx context.Context, branch string) (*reconcile.Revision, error) {
	rev, err := r.Source.FetchBranch(ctx, branch)
	if err != nil || r.sub() == "." {
		return rev, err
	}
	sub := *rev
	if sub.Tree, err = fs.Sub(rev.Tree, r.sub()); err != nil {
		return nil, err
	}
	if sub.Dir != "" {
		sub.Dir = filepath.Join(sub.Dir, filepath.FromSlash(r.sub()))
	}
	return &sub, nil
}

// Commit writes c in the bare clone.
func (r *Remote) Commit(ctx context.Context, c writeback.Commit) (string, error) {
	files := make(map[string][]byte, len(c.Files))
	for p, b := range c.Files {
		files[path.Join(r.sub(), p)] = b
	}
	return r.Source.Commit(ctx, CommitOptions{
		Branch: c.Branch, Parent: c.Parent, Files: files, Message: c.Message,
		Author: object.Signature{Name: c.Author.Name, Email: c.Author.Email},
		Signer: r.Signer,
	})
}

// Push sends the clone's branch to the remote's branch of that name.
func (r *Remote) Push(ctx context.Context, branch string, force bool) error {
	spec := "refs/heads/" + branch + ":refs/heads/" + branch
	if force {
		spec = "+" + spec
	}
	return r.Source.Push(ctx, spec)
}

func (r *Remote) sub() string {
	if r.Dir == "" {
		return "."
	}
	return path.Clean(r.Dir)
}
