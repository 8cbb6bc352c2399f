package git

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"

	"github.com/stewardhq/steward/reconcile"
)

// CommitOptions describe a commit made in the Source's bare clone (no
// worktree): Files replace or delete paths of the parent's tree.
type CommitOptions struct {
	// Branch receives the commit (refs/heads/Branch in the clone).
	Branch string
	// Parent is the commit to build on; "" means Branch's tip in the
	// clone, else the last polled revision.
	Parent string
	// Files maps slash paths to their new content; a nil value deletes the
	// path. New files get mode 0644; existing ones keep their mode.
	Files map[string][]byte
	// Message is the commit message; required.
	Message string
	// Author is the author and committer; When defaults to now.
	Author object.Signature
	// Signer, when set, signs the commit (NewCommitSigner).
	Signer CommitSigner
}

// Commit writes a commit to the bare clone and moves Branch to it; it
// returns the commit id. Push sends it.
func (s *Source) Commit(ctx context.Context, opts CommitOptions) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if opts.Branch == "" || strings.TrimSpace(opts.Message) == "" || opts.Author.Name == "" || opts.Author.Email == "" {
		return "", errors.New("commit: branch, message and author name and email are required")
	}
	for p := range opts.Files {
		if !fs.ValidPath(p) || p == "." {
			return "", fmt.Errorf("commit: invalid path %q", p)
		}
	}
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	s.repo.mu.Lock()
	defer s.repo.mu.Unlock()
	st := s.repo.repo.Storer

	ref := plumbing.NewBranchReferenceName(opts.Branch)
	parent := plumbing.ZeroHash
	switch {
	case opts.Parent != "":
		h, err := s.repo.resolve(opts.Parent)
		if err != nil {
			return "", fmt.Errorf("commit: parent: %w", err)
		}
		parent = h
	default:
		if r, err := st.Reference(ref); err == nil {
			parent = r.Hash()
		} else if s.last != nil {
			parent = plumbing.NewHash(s.last.ID)
		} else {
			return "", fmt.Errorf("commit: branch %s is not in the clone and nothing was polled", opts.Branch)
		}
	}
	pc, err := object.GetCommit(st, parent)
	if err != nil {
		return "", fmt.Errorf("commit: read parent %s: %w", parent, err)
	}
	tree, _, err := writeTree(st, pc.TreeHash, opts.Files)
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	if tree == pc.TreeHash {
		return "", fmt.Errorf("commit: no change to %s", reconcile.ShortRevision(parent.String(), reconcile.RevisionWidth))
	}
	sig := opts.Author
	if sig.When.IsZero() {
		sig.When = time.Now()
	}
	c := &object.Commit{Author: sig, Committer: sig, Message: opts.Message, TreeHash: tree, ParentHashes: []plumbing.Hash{parent}}
	if opts.Signer != nil {
		payload, err := signedPayload(c)
		if err != nil {
			return "", fmt.Errorf("commit: encode: %w", err)
		}
		if c.PGPSignature, err = opts.Signer.Sign(payload); err != nil {
			return "", fmt.Errorf("commit: %w", err)
		}
	}
	obj := st.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return "", fmt.Errorf("commit: encode: %w", err)
	}
	h, err := st.SetEncodedObject(obj)
	if err != nil {
		return "", fmt.Errorf("commit: write: %w", err)
	}
	if err := st.SetReference(plumbing.NewHashReference(ref, h)); err != nil {
		return "", fmt.Errorf("commit: update %s: %w", ref, err)
	}
	return h.String(), nil
}

// writeTree returns the tree of base with files applied and its number of
// entries; repo.mu is held.
func writeTree(st storer.EncodedObjectStorer, base plumbing.Hash, files map[string][]byte) (plumbing.Hash, int, error) {
	m := map[string]object.TreeEntry{}
	if !base.IsZero() {
		t, err := object.GetTree(st, base)
		if err != nil {
			return plumbing.ZeroHash, 0, fmt.Errorf("read tree %s: %w", base, err)
		}
		for _, e := range t.Entries {
			m[e.Name] = e
		}
	}
	// Split the changes into this level's files and subdirectories.
	here := map[string][]byte{}
	sub := map[string]map[string][]byte{}
	for p, content := range files {
		if dir, rest, nested := strings.Cut(p, "/"); nested {
			if sub[dir] == nil {
				sub[dir] = map[string][]byte{}
			}
			sub[dir][rest] = content
		} else {
			here[p] = content
		}
	}
	for name, content := range here {
		if content == nil {
			delete(m, name)
			continue
		}
		h, err := writeBlob(st, content)
		if err != nil {
			return plumbing.ZeroHash, 0, fmt.Errorf("write %s: %w", name, err)
		}
		mode := filemode.Regular
		if e, ok := m[name]; ok && e.Mode == filemode.Executable {
			mode = e.Mode
		}
		m[name] = object.TreeEntry{Name: name, Mode: mode, Hash: h}
	}
	for dir, changes := range sub {
		base := plumbing.ZeroHash
		if e, ok := m[dir]; ok && e.Mode == filemode.Dir {
			base = e.Hash
		}
		h, n, err := writeTree(st, base, changes)
		if err != nil {
			return plumbing.ZeroHash, 0, fmt.Errorf("%s: %w", dir, err)
		}
		if n == 0 {
			delete(m, dir) // git has no empty directories
			continue
		}
		m[dir] = object.TreeEntry{Name: dir, Mode: filemode.Dir, Hash: h}
	}
	t := &object.Tree{}
	for _, e := range m {
		t.Entries = append(t.Entries, e)
	}
	sort.Sort(object.TreeEntrySorter(t.Entries))
	obj := st.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, 0, err
	}
	h, err := st.SetEncodedObject(obj)
	return h, len(t.Entries), err
}

func writeBlob(st storer.EncodedObjectStorer, content []byte) (plumbing.Hash, error) {
	blob := st.NewEncodedObject()
	blob.SetType(plumbing.BlobObject)
	w, err := blob.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := w.Write(content); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(blob)
}

// FetchBranch fetches refs/heads/branch of the remote into the clone
// (where Commit finds it) and returns its newest commit. It is how a
// write-back starts from, and after a refused push re-reads, the remote's
// head; verification of signatures is the poller's, not this.
func (s *Source) FetchBranch(ctx context.Context, branch string) (*reconcile.Revision, error) {
	if branch == "" {
		return nil, errors.New("fetch branch: no branch")
	}
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	ref := plumbing.NewBranchReferenceName(branch)
	adv, err := s.lsRemote(ctx)
	if err != nil {
		return nil, err
	}
	hash, ok := adv.References[ref.String()]
	if !ok {
		return nil, fmt.Errorf("%s: %w: branch %q", reconcile.Redact(s.url), ErrRevisionNotFound, branch)
	}
	s.repo.mu.Lock()
	_, have := object.GetCommit(s.repo.repo.Storer, hash)
	s.repo.mu.Unlock()
	if have != nil {
		shallow := s.opts.Depth > 0
		err := s.fetch(ctx, ref.String(), shallow)
		if err != nil && shallow && ctx.Err() == nil && !isAuthErr(err) {
			err = s.fetch(ctx, ref.String(), false)
		}
		if err != nil {
			return nil, err
		}
	} else {
		s.repo.mu.Lock()
		err := s.repo.repo.Storer.SetReference(plumbing.NewHashReference(ref, hash))
		s.repo.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("fetch branch %s: %w", branch, err)
		}
	}
	s.repo.mu.Lock()
	defer s.repo.mu.Unlock()
	return s.repo.revision(hash)
}

// RemoteBranch returns the commit refs/heads/branch points at on the
// remote (one ref advertisement), "" when the branch does not exist.
func (s *Source) RemoteBranch(ctx context.Context, branch string) (string, error) {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	adv, err := s.lsRemote(ctx)
	if err != nil {
		return "", err
	}
	if h, ok := adv.References[plumbing.NewBranchReferenceName(branch).String()]; ok {
		return h.String(), nil
	}
	return "", nil
}

// Push sends refspec ("refs/heads/x:refs/heads/y", "+" to force) from the
// bare clone to the remote. A rejected non-fast-forward is an error.
func (s *Source) Push(ctx context.Context, refspec string) error {
	rs := config.RefSpec(refspec)
	if err := rs.Validate(); err != nil {
		return fmt.Errorf("push %q: %w", refspec, err)
	}
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	s.repo.mu.Lock()
	defer s.repo.mu.Unlock()
	rem := gogit.NewRemote(s.repo.repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{s.url}})
	err := rem.PushContext(ctx, &gogit.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{rs}, Auth: s.auth})
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return s.remoteErr("push", err)
	}
	return nil
}
