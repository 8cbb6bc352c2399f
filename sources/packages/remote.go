package packages

import (
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/sources/git"
	"github.com/stewardhq/steward/sources/registry"
)

// Options configure a Resolver.
type Options struct {
	// CacheDir holds a bare clone per package repository; required.
	CacheDir string
	// Auth, AllowInsecureHTTP and Verify are the main repository's: a
	// package repository is reached and checked the same way.
	Auth              git.Auth
	AllowInsecureHTTP bool
	Verify            *git.VerifyOptions
	// Depth is the fetch depth (1: the picked commit only).
	Depth int
	// Concurrency bounds how many repositories are read at once.
	Concurrency int
	// Registry are the options OCI packages are reached with (the image
	// automation's credentials); the stack's images.insecureRegistries
	// are added. nil refuses OCI packages.
	Registry *registry.Options
	// Logger receives warnings (a repository unreachable, the locked
	// version kept); nil discards.
	Logger *slog.Logger
}

// DefaultOptions returns shallow fetches, 4 repositories at once.
func DefaultOptions() Options {
	return Options{Depth: 1, Concurrency: 4}
}

// remotes keeps one git.Source (one bare clone) per repository URL.
type remotes struct {
	opts Options
	mu   sync.Mutex
	m    map[string]*git.Source
}

func (r *remotes) get(url string) (*git.Source, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.m[url]; ok {
		return s, nil
	}
	o := git.DefaultSourceOptions()
	sum := sha256.Sum256([]byte(url))
	o.URL, o.Auth, o.AllowInsecureHTTP, o.Verify, o.Logger = url, r.opts.Auth, r.opts.AllowInsecureHTTP, r.opts.Verify, r.opts.Logger
	o.Depth = r.opts.Depth
	o.CacheDir = filepath.Join(r.opts.CacheDir, "packages", hex.EncodeToString(sum[:8]))
	s, err := git.NewSource(o)
	if err != nil {
		return nil, err
	}
	if r.m == nil {
		r.m = map[string]*git.Source{}
	}
	r.m[url] = s
	return s, nil
}

func (r *remotes) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first error
	for _, s := range r.m {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	r.m = nil
	return first
}

// registries keeps one registry client per list of insecure registries
// (a client lives long: its rate limits span resolutions).
type registries struct {
	opts *registry.Options
	mu   sync.Mutex
	m    map[string]*registry.Client
}

func (r *registries) get(stack *reconcile.Stack) (*registry.Client, error) {
	if r.opts == nil {
		return nil, errNoRegistry
	}
	var insecure []string
	if stack != nil && stack.Images != nil {
		insecure = stack.Images.InsecureRegistries
	}
	key := strings.Join(insecure, ",")
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.m[key]; ok {
		return c, nil
	}
	o := *r.opts
	o.Insecure = append(slices.Clone(o.Insecure), insecure...)
	c, err := registry.New(o)
	if err != nil {
		return nil, err
	}
	if r.m == nil {
		r.m = map[string]*registry.Client{}
	}
	r.m[key] = c
	return c, nil
}
