package git

import (
	"context"
	"errors"
	"fmt"
	"strings"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/stewardhq/steward/reconcile"
)

// Refs is one ref advertisement of a remote: what each ref points at, with
// annotated tags peeled to their commit.
type Refs struct {
	// Commits maps a ref name (refs/tags/v1.2.0) to its commit.
	Commits map[string]string
	// Head is the branch the remote's HEAD names ("" when it names none).
	Head string
	// Objects maps a ref name to the object it points at (a tag object for
	// an annotated tag), as Checkout wants it.
	Objects map[string]string
}

// ListRefs is one ref advertisement (ls-remote) of the Source's URL; it
// fetches nothing. Package resolution reads every version of a repository
// from it.
func (s *Source) ListRefs(ctx context.Context) (*Refs, error) {
	adv, err := s.lsRemote(ctx)
	if err != nil {
		return nil, err
	}
	out := &Refs{Commits: map[string]string{}, Objects: map[string]string{}}
	for name, h := range adv.References {
		if strings.HasSuffix(name, "^{}") {
			continue
		}
		out.Objects[name] = h.String()
		if p, ok := adv.Peeled[name]; ok {
			h = p
		}
		out.Commits[name] = h.String()
	}
	if head, _, err := s.pickHead(adv); err == nil {
		out.Head = head
	}
	return out, nil
}

// Checkout returns the commit ref names (object is what the advertisement
// gave for it), fetching ref only when that commit is not in the clone
// yet. It refuses a ref that turns out to name another commit than
// commit, and checks the signature when verification is on. fetched says
// whether it fetched.
func (s *Source) Checkout(ctx context.Context, ref, object, commit string) (rev *reconcile.Revision, fetched bool, err error) {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	if rev, err := s.cached(commit); err == nil {
		return rev, false, nil
	}
	if err := s.fetch(ctx, ref, s.opts.Depth > 0); err != nil {
		if ctx.Err() != nil || isAuthErr(err) || s.opts.Depth == 0 {
			return nil, true, err
		}
		if err := s.fetch(ctx, ref, false); err != nil {
			return nil, true, err
		}
	}
	s.repo.mu.Lock()
	c, err := s.commitOf(plumbing.NewHash(object))
	s.repo.mu.Unlock()
	if err != nil {
		return nil, true, fmt.Errorf("read fetched %s: %w", ref, err)
	}
	if c.Hash.String() != commit {
		return nil, true, fmt.Errorf("%s: %s now names commit %s, not %s", reconcile.Redact(s.url), ref, c.Hash, commit)
	}
	rev, err = s.cached(commit)
	return rev, true, err
}

// Cached returns commit when the clone has it, without contacting the
// remote (for when the remote cannot be reached). The signature is checked
// as Checkout does.
func (s *Source) Cached(commit string) (*reconcile.Revision, error) {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	return s.cached(commit)
}

// cached is Cached; pollMu is held.
func (s *Source) cached(commit string) (*reconcile.Revision, error) {
	h := plumbing.NewHash(commit)
	if h.IsZero() || h.String() != commit {
		return nil, fmt.Errorf("%q is not a commit id", commit)
	}
	s.repo.mu.Lock()
	defer s.repo.mu.Unlock()
	c, err := s.commitOf(h)
	if err != nil {
		return nil, fmt.Errorf("commit %s is not in the clone: %w", commit, err)
	}
	if s.verifier != nil {
		if _, err := s.verifier.Verify(c); err != nil {
			return nil, err
		}
	}
	return revisionOf(c, newTreeFS(s.repo.repo.Storer, &s.repo.mu, c.TreeHash, c.Committer.When)), nil
}

// PushTag points refs/tags/name at commit in the clone (Checkout the
// commit first) and pushes that tag to the remote, never forced: a tag
// the remote has at another commit is refused, so a published version
// never moves. A tag already there at commit is no change.
func (s *Source) PushTag(ctx context.Context, name, commit string) error {
	ref := plumbing.NewTagReferenceName(name)
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	adv, err := s.lsRemote(ctx)
	if err != nil {
		return err
	}
	if h, ok := adv.References[ref.String()]; ok {
		if p, ok := adv.Peeled[ref.String()]; ok {
			h = p
		}
		if h.String() == commit {
			return nil
		}
		return fmt.Errorf("%s: tag %s exists at commit %s; a published version never moves", reconcile.Redact(s.url), name, h)
	}
	s.repo.mu.Lock()
	_, err = object.GetCommit(s.repo.repo.Storer, plumbing.NewHash(commit))
	if err == nil {
		err = s.repo.repo.Storer.SetReference(plumbing.NewHashReference(ref, plumbing.NewHash(commit)))
	}
	s.repo.mu.Unlock()
	if err != nil {
		return fmt.Errorf("tag %s at %s: %w", name, commit, err)
	}
	s.repo.mu.Lock()
	defer s.repo.mu.Unlock()
	rem := gogit.NewRemote(s.repo.repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{s.url}})
	spec := config.RefSpec(ref.String() + ":" + ref.String())
	err = rem.PushContext(ctx, &gogit.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{spec}, Auth: s.auth})
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return s.remoteErr("push", err)
	}
	return nil
}
