package git

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/Masterminds/semver/v3"
	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"

	"github.com/stewardhq/steward/reconcile"
)

// SourceOptions configure a Source. Set at most one of Branch, Tag and
// SemverTag; with none, the remote's default branch (its HEAD) is tracked.
type SourceOptions struct {
	// URL is the repository: file://, https://, http:// or ssh://. A
	// password in the URL is moved to Auth and never printed.
	URL string
	// Branch tracks refs/heads/Branch.
	Branch string
	// Tag tracks refs/tags/Tag (which may be moved by force-pushing it).
	Tag string
	// SemverTag tracks the highest tag matching this semver constraint
	// (e.g. ">=1.2.0 <2"); a leading "v" on tags is allowed.
	SemverTag string
	// CacheDir holds the Source's own bare clone; required. Reused across
	// restarts.
	CacheDir string
	// Auth are the credentials for URL.
	Auth Auth
	// AllowInsecureHTTP lets a password or token go to an http:// URL,
	// where anyone on the path reads it. Without it NewSource refuses such
	// a source with an *InsecureHTTPError.
	AllowInsecureHTTP bool
	// Depth fetches only this many commits of history (1: just the
	// tracked commit) where the server allows it; 0 fetches everything.
	Depth int
	// Verify, when set, refuses commits that are not signed by one of its
	// keys (SignatureError).
	Verify *VerifyOptions
	// Logger receives one line per fetch; nil discards.
	Logger *slog.Logger
}

// DefaultSourceOptions returns options with a shallow fetch (Depth 1).
func DefaultSourceOptions() SourceOptions {
	return SourceOptions{Depth: 1}
}

// Source tracks one ref of a remote repository; see Poll.
type Source struct {
	opts     SourceOptions
	url      string // without credentials
	auth     transport.AuthMethod
	verifier *Verifier
	log      *slog.Logger
	semver   *semver.Constraints

	pollMu sync.Mutex // one Poll, Commit or Push at a time
	repo   *Repository

	// State of the last Poll.
	lastRef  string        // ref tracked at the last poll
	lastHash plumbing.Hash // what lastRef pointed at (a tag object for annotated tags)
	last     *reconcile.Revision
	lastErr  error
	status   PollStatus
}

// PollStatus describes the last Poll beyond the Revision it returned.
type PollStatus struct {
	// Ref is the tracked ref (e.g. refs/heads/main, refs/tags/v1.2.0).
	Ref string
	// Fetched is set when the poll downloaded objects (the ref moved).
	Fetched bool
	// Rewritten is set when the new commit does not descend from the
	// previous one: a force-push or a moved tag. The new commit is used.
	Rewritten bool
	// Previous is the commit of the poll before, "" for the first.
	Previous string
	// Shallow reports whether the fetch was shallow.
	Shallow bool
	// Signer is who signed the commit when verification is on.
	Signer *Signer
}

var _ reconcile.Source = (*Source)(nil)

// NewSource validates opts and opens (or creates) the bare clone in
// CacheDir. It does not contact the remote.
func NewSource(opts SourceOptions) (*Source, error) {
	if opts.URL == "" {
		return nil, errors.New("git source: url is required")
	}
	if opts.CacheDir == "" {
		return nil, errors.New("git source: cache directory is required")
	}
	n := 0
	for _, s := range []string{opts.Branch, opts.Tag, opts.SemverTag} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return nil, errors.New("git source: set only one of branch, tag and semverTag")
	}
	if opts.Depth < 0 {
		return nil, fmt.Errorf("git source: depth %d is negative", opts.Depth)
	}
	s := &Source{opts: opts, log: opts.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	u, err := splitURL(opts.URL, &s.opts.Auth)
	if err != nil {
		return nil, fmt.Errorf("git source: %w", err)
	}
	s.url = u
	if strings.HasPrefix(u, "http://") && (s.opts.Auth.Token != "" || s.opts.Auth.Password != "") && !opts.AllowInsecureHTTP {
		return nil, &InsecureHTTPError{URL: reconcile.Redact(u)}
	}
	if s.auth, err = transportAuth(u, s.opts.Auth); err != nil {
		return nil, fmt.Errorf("git source %s: %w", reconcile.Redact(u), err)
	}
	if opts.SemverTag != "" {
		if s.semver, err = semver.NewConstraint(opts.SemverTag); err != nil {
			return nil, fmt.Errorf("git source: semverTag %q: %w", opts.SemverTag, err)
		}
	}
	if opts.Verify != nil {
		if s.verifier, err = NewVerifier(*opts.Verify); err != nil {
			return nil, fmt.Errorf("git source: %w", err)
		}
	}
	if s.repo, err = openCache(opts.CacheDir); err != nil {
		return nil, fmt.Errorf("git source: %w", err)
	}
	return s, nil
}

func openCache(dir string) (*Repository, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	r, err := gogit.PlainOpen(dir)
	if errors.Is(err, gogit.ErrRepositoryNotExists) {
		r, err = gogit.PlainInit(dir, true)
	}
	if err == nil {
		r, err = keepPacksOpen(r)
	}
	if err != nil {
		return nil, fmt.Errorf("cache repository %s: %w", dir, err)
	}
	return &Repository{repo: r, dir: dir}, nil
}

// Repository returns the Source's bare clone, for reading other revisions.
func (s *Source) Repository() *Repository { return s.repo }

// Close releases the clone's open pack files.
func (s *Source) Close() error { return s.repo.Close() }

// Status returns what the last Poll did.
func (s *Source) Status() PollStatus {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()
	return s.status
}

// Poll returns the newest commit of the tracked ref. It starts with one
// ref advertisement (ls-remote); when the ref has not moved since the last
// Poll it returns the last result (revision or refusal) and fetches
// nothing. Otherwise it fetches just that ref, verifies the signature when
// enabled, and returns the commit read from the bare clone.
func (s *Source) Poll(ctx context.Context) (*reconcile.Revision, error) {
	s.pollMu.Lock()
	defer s.pollMu.Unlock()

	adv, err := s.lsRemote(ctx)
	if err != nil {
		return nil, err
	}
	ref, hash, err := s.pick(adv)
	if err != nil {
		return nil, err
	}
	if ref == s.lastRef && hash == s.lastHash && (s.last != nil || s.lastErr != nil) {
		s.status.Fetched = false
		return s.last, s.lastErr
	}

	shallow := s.opts.Depth > 0 && adv.Capabilities.Supports(capability.Shallow)
	if s.opts.Depth > 0 && !shallow {
		s.log.Info("server does not allow shallow fetches; fetching full history", "repository", reconcile.Redact(s.url))
	}
	if err := s.fetch(ctx, ref, shallow); err != nil {
		if !shallow || ctx.Err() != nil || isAuthErr(err) {
			return nil, err
		}
		s.log.Warn("shallow fetch failed; retrying a full fetch", "repository", reconcile.Redact(s.url), "error", err)
		shallow = false
		if err := s.fetch(ctx, ref, false); err != nil {
			return nil, err
		}
	}

	s.repo.mu.Lock()
	c, err := s.commitOf(hash)
	s.repo.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("read fetched %s: %w", ref, err)
	}

	prev := ""
	if s.last != nil {
		prev = s.last.ID
	}
	st := PollStatus{Ref: ref, Fetched: true, Previous: prev, Shallow: shallow}
	if prev != "" && prev != c.Hash.String() {
		s.repo.mu.Lock()
		st.Rewritten = rewritten(s.repo.repo.Storer, c, plumbing.NewHash(prev))
		s.repo.mu.Unlock()
		if st.Rewritten {
			s.log.Warn("history rewritten: new commit does not descend from the previous one",
				"ref", ref, "revision", c.Hash.String(), "previous", prev)
		}
	}
	s.lastRef, s.lastHash, s.status = ref, hash, st

	if s.verifier != nil {
		s.repo.mu.Lock()
		signer, err := s.verifier.Verify(c)
		s.repo.mu.Unlock()
		if err != nil {
			// Remember the refusal: an unchanged ref is not re-fetched.
			s.last, s.lastErr = nil, err
			s.log.Warn("commit refused", "ref", ref, "revision", c.Hash.String(), "error", err)
			return nil, err
		}
		s.status.Signer = signer
	}
	rev := revisionOf(c, newTreeFS(s.repo.repo.Storer, &s.repo.mu, c.TreeHash, c.Committer.When))
	s.last, s.lastErr = rev, nil
	s.log.Info("fetched", "ref", ref, "revision", rev.ID, "shallow", shallow, "rewritten", st.Rewritten)
	return rev, nil
}

// lsRemote is one ref advertisement.
func (s *Source) lsRemote(ctx context.Context) (*packp.AdvRefs, error) {
	ep, err := transport.NewEndpoint(s.url)
	if err != nil {
		return nil, s.remoteErr("ls-remote", err)
	}
	c, err := client.NewClient(ep)
	if err != nil {
		return nil, s.remoteErr("ls-remote", err)
	}
	sess, err := c.NewUploadPackSession(ep, s.auth)
	if err != nil {
		return nil, s.remoteErr("ls-remote", err)
	}
	defer sess.Close()
	adv, err := sess.AdvertisedReferencesContext(ctx)
	if err != nil {
		return nil, s.remoteErr("ls-remote", err)
	}
	return adv, nil
}

// pick chooses the tracked ref in the advertisement.
func (s *Source) pick(adv *packp.AdvRefs) (string, plumbing.Hash, error) {
	switch {
	case s.opts.Tag != "":
		ref := "refs/tags/" + s.opts.Tag
		h, ok := adv.References[ref]
		if !ok {
			return "", plumbing.ZeroHash, fmt.Errorf("%s: tag %q not found", reconcile.Redact(s.url), s.opts.Tag)
		}
		return ref, h, nil
	case s.semver != nil:
		return s.pickSemver(adv)
	case s.opts.Branch != "":
		ref := "refs/heads/" + s.opts.Branch
		h, ok := adv.References[ref]
		if !ok {
			return "", plumbing.ZeroHash, fmt.Errorf("%s: branch %q not found", reconcile.Redact(s.url), s.opts.Branch)
		}
		return ref, h, nil
	}
	return s.pickHead(adv)
}

// pickHead finds the branch the remote's HEAD points at.
func (s *Source) pickHead(adv *packp.AdvRefs) (string, plumbing.Hash, error) {
	for _, v := range adv.Capabilities.Get(capability.SymRef) {
		if from, to, ok := strings.Cut(v, ":"); ok && from == "HEAD" {
			if h, ok := adv.References[to]; ok {
				return to, h, nil
			}
		}
	}
	if adv.Head != nil {
		// No symref: the branch with HEAD's commit, main or master first.
		var names []string
		for name, h := range adv.References {
			if h == *adv.Head && strings.HasPrefix(name, "refs/heads/") {
				names = append(names, name)
			}
		}
		sort.Slice(names, func(i, j int) bool {
			return rank(names[i]) < rank(names[j]) || (rank(names[i]) == rank(names[j]) && names[i] < names[j])
		})
		if len(names) > 0 {
			return names[0], *adv.Head, nil
		}
	}
	if len(adv.References) == 0 {
		return "", plumbing.ZeroHash, fmt.Errorf("%s: repository is empty", reconcile.Redact(s.url))
	}
	return "", plumbing.ZeroHash, fmt.Errorf("%s: remote HEAD names no branch; set a branch", reconcile.Redact(s.url))
}

func rank(ref string) int {
	switch ref {
	case "refs/heads/main":
		return 0
	case "refs/heads/master":
		return 1
	}
	return 2
}

// pickSemver finds the highest tag matching the constraint.
func (s *Source) pickSemver(adv *packp.AdvRefs) (string, plumbing.Hash, error) {
	var best *semver.Version
	bestRef := ""
	for name := range adv.References {
		tag, ok := strings.CutPrefix(name, "refs/tags/")
		if !ok || strings.HasSuffix(tag, "^{}") {
			continue
		}
		v, err := semver.NewVersion(tag)
		if err != nil || !s.semver.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) || (v.Equal(best) && name < bestRef) {
			best, bestRef = v, name
		}
	}
	if best == nil {
		return "", plumbing.ZeroHash, fmt.Errorf("%s: no tag matches semver %q", reconcile.Redact(s.url), s.opts.SemverTag)
	}
	return bestRef, adv.References[bestRef], nil
}

// fetch downloads ref into the bare clone under the same name.
func (s *Source) fetch(ctx context.Context, ref string, shallow bool) error {
	depth := 0
	if shallow {
		depth = s.opts.Depth
	}
	rem := gogit.NewRemote(s.repo.repo.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{s.url}})
	s.repo.mu.Lock()
	defer s.repo.mu.Unlock()
	err := rem.FetchContext(ctx, &gogit.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{config.RefSpec("+" + ref + ":" + ref)},
		Depth:      depth,
		Auth:       s.auth,
		Tags:       gogit.NoTags,
		Force:      true,
	})
	if err != nil && !errors.Is(err, gogit.NoErrAlreadyUpToDate) {
		return s.remoteErr("fetch", err)
	}
	return nil
}

// commitOf returns the commit h names, peeling annotated tags; repo.mu
// is held.
func (s *Source) commitOf(h plumbing.Hash) (*object.Commit, error) {
	st := s.repo.repo.Storer
	for range 10 {
		if c, err := object.GetCommit(st, h); err == nil {
			return c, nil
		}
		t, err := object.GetTag(st, h)
		if err != nil {
			return nil, fmt.Errorf("object %s is neither a commit nor a tag: %w", h, err)
		}
		h = t.Target
	}
	return nil, fmt.Errorf("object %s: tag chain too long", h)
}

// rewritten reports whether next is not a fast-forward of prev: provably
// so when next's history, walked completely, lacks prev, or when next is an
// ancestor of prev (a rewind). A walk cut short by a shallow clone proves
// nothing and reports false. repo.mu is held.
func rewritten(st storerT, next *object.Commit, prev plumbing.Hash) bool {
	found, complete := reaches(st, next, prev)
	if found {
		return false
	}
	if complete {
		return true
	}
	if p, err := object.GetCommit(st, prev); err == nil {
		if back, _ := reaches(st, p, next.Hash); back {
			return true
		}
	}
	return false
}

type storerT = storer.EncodedObjectStorer

// reaches walks from c's parents looking for target; complete is false when
// a parent is missing (shallow boundary) or the walk was cut off.
func reaches(st storerT, c *object.Commit, target plumbing.Hash) (found, complete bool) {
	seen := map[plumbing.Hash]bool{}
	queue := []plumbing.Hash{}
	add := func(c *object.Commit) {
		for _, p := range c.ParentHashes {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	add(c)
	complete = true
	for n := 0; len(queue) > 0; n++ {
		if n > 200000 {
			return false, false
		}
		h := queue[0]
		queue = queue[1:]
		if h == target {
			return true, true
		}
		p, err := object.GetCommit(st, h)
		if err != nil {
			complete = false
			continue
		}
		add(p)
	}
	return false, complete
}

func isAuthErr(err error) bool {
	return errors.Is(err, transport.ErrAuthenticationRequired) || errors.Is(err, transport.ErrAuthorizationFailed)
}
