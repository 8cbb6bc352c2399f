// Package gitserver runs a real git server for tests: git's own
// `git http-backend` behind net/http/cgi on a loopback port, with optional
// basic auth and per-request counting (ref advertisements, upload-pack and
// receive-pack requests), plus helpers that build repositories with the git
// CLI: commits, tags, force-pushes, and commits signed with OpenPGP (gpg, or
// a generated key when gpg is absent) and SSH keys (ssh-keygen).
package gitserver

import (
	"context"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv"
)

// Options configure a Server.
type Options struct {
	// User and Password, when set, require HTTP basic auth on every request.
	User, Password string
}

// Counts are the requests a Server answered, by kind.
type Counts struct {
	// RefAdvertisements is GET info/refs?service=git-upload-pack (ls-remote
	// and the first half of a fetch).
	RefAdvertisements int64
	// Packs is POST git-upload-pack (a fetch that transfers a pack).
	Packs int64
	// ReceiveAdvertisements is GET info/refs?service=git-receive-pack.
	ReceiveAdvertisements int64
	// Receives is POST git-receive-pack (a push).
	Receives int64
	// Unauthorized is requests refused for missing or wrong credentials.
	Unauthorized int64
}

// Server is a running git http-backend. It speaks protocol v0 (the git CLI
// falls back to it), so that every upload-pack POST is a pack request.
type Server struct {
	// URL is the server's base URL (http://127.0.0.1:PORT); a repository
	// NAME is at URL + "/NAME.git".
	URL string
	// Root is GIT_PROJECT_ROOT, where the bare repositories live.
	Root string

	opts                          Options
	refAds, packs, recvAds, recvs atomic.Int64
	unauthorized                  atomic.Int64
}

// Git returns the path of the git binary, calling testenv.Missing when
// there is none.
func Git(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("git")
	if err != nil {
		testenv.Missing(tb, "git not found in PATH")
	}
	return p
}

// Start runs a server until the test ends.
func Start(tb testing.TB, opts Options) *Server {
	tb.Helper()
	git := Git(tb)
	root := tb.TempDir()
	s := &Server{Root: root, opts: opts}
	backend := &cgi.Handler{
		Path: git,
		Args: []string{"http-backend"},
		Dir:  root,
		Env: []string{
			"GIT_PROJECT_ROOT=" + root,
			"GIT_HTTP_EXPORT_ALL=1",
			// Allow pushes without REMOTE_USER, and shallow/any-SHA fetches.
			"GIT_CONFIG_COUNT=2",
			"GIT_CONFIG_KEY_0=http.receivepack", "GIT_CONFIG_VALUE_0=true",
			"GIT_CONFIG_KEY_1=uploadpack.allowReachableSHA1InWant", "GIT_CONFIG_VALUE_1=true",
			"HOME=" + root,
		},
		InheritEnv: []string{"PATH"},
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("gitserver: listen: %v", err)
	}
	srv := &http.Server{Handler: s.handler(backend), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	s.URL = "http://" + l.Addr().String()
	return s
}

func (s *Server) handler(backend http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.User != "" || s.opts.Password != "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != s.opts.User || p != s.opts.Password {
				s.unauthorized.Add(1)
				w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			r.Header.Del("Authorization")
		}
		// Serve protocol v0 only (what go-git speaks), so that a POST to
		// git-upload-pack is always a pack negotiation, never a v2 ls-refs.
		r.Header.Del("Git-Protocol")
		switch {
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs"):
			switch r.URL.Query().Get("service") {
			case "git-upload-pack":
				s.refAds.Add(1)
			case "git-receive-pack":
				s.recvAds.Add(1)
			}
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
			s.packs.Add(1)
		case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack"):
			s.recvs.Add(1)
		}
		backend.ServeHTTP(w, r)
	})
}

// Counts returns the requests answered since Start or the last Reset.
func (s *Server) Counts() Counts {
	return Counts{
		RefAdvertisements:     s.refAds.Load(),
		Packs:                 s.packs.Load(),
		ReceiveAdvertisements: s.recvAds.Load(),
		Receives:              s.recvs.Load(),
		Unauthorized:          s.unauthorized.Load(),
	}
}

// ResetCounts sets every count to zero.
func (s *Server) ResetCounts() {
	s.refAds.Store(0)
	s.packs.Store(0)
	s.recvAds.Store(0)
	s.recvs.Store(0)
	s.unauthorized.Store(0)
}

// RepoURL returns the http URL of repository name.
func (s *Server) RepoURL(name string) string { return s.URL + "/" + name + ".git" }

// NewRepo creates the bare repository name on the server (default branch
// main) with a work clone to commit in; see NewLocalRepo.
func (s *Server) NewRepo(tb testing.TB, name string) *Repo {
	tb.Helper()
	r := newRepo(tb, filepath.Join(s.Root, name+".git"))
	r.URL = s.RepoURL(name)
	return r
}

// NewLocalRepo creates a bare repository in a temp dir, reachable by its
// file:// URL only, with a work clone to commit in.
func NewLocalRepo(tb testing.TB) *Repo {
	tb.Helper()
	return newRepo(tb, filepath.Join(tb.TempDir(), "repo.git"))
}

func newRepo(tb testing.TB, bare string) *Repo {
	tb.Helper()
	Git(tb)
	work := filepath.Join(tb.TempDir(), "work")
	r := &Repo{Bare: bare, Work: work, FileURL: "file://" + filepath.ToSlash(bare), tb: tb}
	r.run(tb, "", "init", "-q", "--bare", "-b", "main", bare)
	r.run(tb, "", "init", "-q", "-b", "main", work)
	r.Git(tb, "remote", "add", "origin", bare)
	return r
}

// env is the environment every git command runs with: no user or system
// config, a fixed identity.
func gitEnv(home string) []string {
	env := []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Steward Test", "GIT_AUTHOR_EMAIL=test@steward.invalid",
		"GIT_COMMITTER_NAME=Steward Test", "GIT_COMMITTER_EMAIL=test@steward.invalid",
	}
	return env
}
