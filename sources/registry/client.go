package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrtransport "github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// ErrNotFound is a repository or tag the registry does not have.
var ErrNotFound = errors.New("not found")

// Error is a failed registry read, naming the image and what was read.
type Error struct {
	Image  string // the repository, as the policy names it
	Op     string // "list tags", "read digest of 1.2.3", ...
	Status int    // the HTTP status, 0 for a network or client error
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("registry: %s: %s: %v", e.Image, e.Op, e.Err) }

// Unwrap returns the cause (ErrNotFound for a 404).
func (e *Error) Unwrap() error { return e.Err }

// Client reads registries. It is safe for concurrent use and meant to live
// as long as the process: its rate limits and config cache span scans.
type Client struct {
	opts     Options
	keys     *keychain
	rt       *transport
	stats    counters
	platform v1.Platform

	mu      sync.Mutex
	configs map[string]*memo[time.Time] // created time by manifest digest
}

// New reads the credentials file and returns a Client.
func New(opts Options) (*Client, error) {
	opts = opts.withDefaults()
	path, explicit := opts.ConfigFile, opts.ConfigFile != ""
	switch {
	case opts.Anonymous:
		path = ""
	case !explicit:
		path = defaultConfigFile()
	}
	keys, notes, err := loadKeychain(path, explicit)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		opts.Logger.Warn("registry config", "file", path, "note", n)
	}
	platform, err := v1.ParsePlatform(opts.Platform)
	if err != nil {
		return nil, fmt.Errorf("registry: platform %q: %w", opts.Platform, err)
	}
	c := &Client{opts: opts, keys: keys, platform: *platform, configs: map[string]*memo[time.Time]{}}
	c.rt = newTransport(opts, &c.stats)
	return c, nil
}

// Stats returns the requests sent since New.
func (c *Client) Stats() Stats { return c.stats.snapshot() }

// Scan starts one pass: tag lists and digests are read once per scan,
// config created times once per digest for the Client's life.
func (c *Client) Scan() *Scan {
	// NewPuller fails only for conflicting auth options, which these are not.
	p, _ := remote.NewPuller(
		remote.WithTransport(c.rt),
		remote.WithAuthFromKeychain(c.keys),
		remote.WithPageSize(c.opts.PageSize),
		remote.WithPlatform(c.platform),
		remote.WithUserAgent(c.opts.UserAgent),
		// The transport retries; go-containerregistry must not again.
		remote.WithRetryPredicate(func(error) bool { return false }),
		remote.WithRetryStatusCodes(),
	)
	return &Scan{c: c, puller: p, tags: map[string]*memo[[]string]{}, digests: map[string]*memo[string]{}}
}

// Scan is one pass over the registries. Its methods may be called
// concurrently; each repository's tags are listed once, each tag's digest
// read once.
type Scan struct {
	c      *Client
	puller *remote.Puller

	mu      sync.Mutex
	tags    map[string]*memo[[]string]
	digests map[string]*memo[string]
}

type memo[T any] struct {
	once sync.Once
	val  T
	err  error
}

func load[T any](mu *sync.Mutex, m map[string]*memo[T], key string, f func() (T, error)) (T, error) {
	mu.Lock()
	e, ok := m[key]
	if !ok {
		e = &memo[T]{}
		m[key] = e
	}
	mu.Unlock()
	e.once.Do(func() { e.val, e.err = f() })
	return e.val, e.err
}

func (s *Scan) repo(image string) (name.Repository, error) {
	var opts []name.Option
	if s.c.rt.allowed[registryHost(image)] {
		opts = append(opts, name.Insecure)
	}
	r, err := name.NewRepository(image, opts...)
	if err != nil {
		return r, &Error{Image: image, Op: "parse", Err: err}
	}
	return r, nil
}

// Tags lists every tag of image (a repository), following pagination.
func (s *Scan) Tags(ctx context.Context, image string) ([]string, error) {
	return load(&s.mu, s.tags, image, func() ([]string, error) {
		repo, err := s.repo(image)
		if err != nil {
			return nil, err
		}
		tags, err := s.puller.List(ctx, repo)
		if err != nil {
			return nil, s.c.wrap(image, "list tags", err)
		}
		return tags, nil
	})
}

// Digest returns the manifest digest tag points at (one HEAD request).
func (s *Scan) Digest(ctx context.Context, image, tag string) (string, error) {
	return load(&s.mu, s.digests, image+":"+tag, func() (string, error) {
		repo, err := s.repo(image)
		if err != nil {
			return "", err
		}
		desc, err := s.puller.Head(ctx, repo.Tag(tag))
		if err != nil {
			return "", s.c.wrap(image, "read digest of "+tag, err)
		}
		return desc.Digest.String(), nil
	})
}

// Created returns the created time of the image config tag points at, and
// its manifest digest. The config is read only for a digest not seen
// before; for an index, the image of Options.Platform is read.
func (s *Scan) Created(ctx context.Context, image, tag string) (time.Time, string, error) {
	digest, err := s.Digest(ctx, image, tag)
	if err != nil {
		return time.Time{}, "", err
	}
	// One read per digest for the Client's life, however many policies
	// and scans ask at once; a failed read is forgotten and tried again.
	created, err := load(&s.c.mu, s.c.configs, digest, func() (time.Time, error) {
		return s.readCreated(ctx, image, tag, digest)
	})
	if err != nil {
		s.c.mu.Lock()
		delete(s.c.configs, digest)
		s.c.mu.Unlock()
		return time.Time{}, "", err
	}
	return created, digest, nil
}

func (s *Scan) readCreated(ctx context.Context, image, tag, digest string) (time.Time, error) {
	repo, err := s.repo(image)
	if err != nil {
		return time.Time{}, err
	}
	op := "read config of " + tag
	desc, err := s.puller.Get(ctx, repo.Digest(digest))
	if err != nil {
		return time.Time{}, s.c.wrap(image, op, err)
	}
	img, err := desc.Image() // an index resolves to the platform's image
	if err != nil {
		return time.Time{}, s.c.wrap(image, op, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return time.Time{}, s.c.wrap(image, op, err)
	}
	return cfg.Created.Time, nil
}

// wrap translates go-containerregistry's errors at the package edge.
func (c *Client) wrap(image, op string, err error) error {
	e := &Error{Image: image, Op: op, Err: err}
	var te *ggcrtransport.Error
	if errors.As(err, &te) {
		e.Status = te.StatusCode
		if te.StatusCode == http.StatusNotFound {
			e.Err = fmt.Errorf("%w: %v", ErrNotFound, err)
		}
	}
	return e
}
