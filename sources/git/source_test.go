package git

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv"
	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	"github.com/stewardhq/steward/reconcile"
)

func newSource(t *testing.T, opts SourceOptions) *Source {
	t.Helper()
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(t.TempDir(), "cache")
	}
	s, err := NewSource(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func poll(t *testing.T, s *Source) *reconcile.Revision {
	t.Helper()
	rev, err := s.Poll(t.Context())
	if err != nil {
		t.Fatalf("poll: %v", err)
	}
	return rev
}

func readFile(t *testing.T, rev *reconcile.Revision, name string) string {
	t.Helper()
	b, err := fs.ReadFile(rev.Tree, name)
	if err != nil {
		t.Fatalf("read %s at %s: %v", name, rev.ID, err)
	}
	return string(b)
}

func TestPollUnchangedAndNewCommit(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	repo := srv.NewRepo(t, "app")
	c1 := repo.Commit(t, "first commit\n\nwith a body", map[string]string{"steward.yaml": "v: 1\n"})

	opts := DefaultSourceOptions()
	opts.URL = repo.URL
	s := newSource(t, opts)

	rev := poll(t, s)
	if rev.ID != c1 || rev.Subject != "first commit" || rev.Time.IsZero() {
		t.Fatalf("first poll = %+v, want %s", rev, c1)
	}
	if got := readFile(t, rev, "steward.yaml"); got != "v: 1\n" {
		t.Fatalf("steward.yaml = %q", got)
	}
	if st := s.Status(); !st.Fetched || st.Ref != "refs/heads/main" || !st.Shallow {
		t.Fatalf("status after first poll = %+v", st)
	}

	// Unchanged: exactly one ref advertisement, zero packs.
	srv.ResetCounts()
	rev2 := poll(t, s)
	if rev2.ID != c1 {
		t.Fatalf("unchanged poll = %s, want %s", rev2.ID, c1)
	}
	if c := srv.Counts(); c.RefAdvertisements != 1 || c.Packs != 0 {
		t.Fatalf("unchanged poll requests = %+v, want 1 ref advertisement and 0 packs", c)
	}
	if s.Status().Fetched {
		t.Fatal("unchanged poll reports a fetch")
	}

	// A new commit is fetched (one pack) and read.
	c2 := repo.Commit(t, "second", map[string]string{"steward.yaml": "v: 2\n"})
	srv.ResetCounts()
	rev3 := poll(t, s)
	if rev3.ID != c2 || readFile(t, rev3, "steward.yaml") != "v: 2\n" {
		t.Fatalf("poll after commit = %s, want %s", rev3.ID, c2)
	}
	if c := srv.Counts(); c.Packs != 1 {
		t.Fatalf("fetch requests = %+v, want 1 pack", c)
	}
	if st := s.Status(); st.Rewritten || st.Previous != c1 {
		t.Fatalf("status after fast-forward = %+v", st)
	}
	// The earlier revision's tree stays readable.
	if got := readFile(t, rev, "steward.yaml"); got != "v: 1\n" {
		t.Fatalf("old revision reads %q", got)
	}

	// A new Source on the same cache (a restart) fetches no pack.
	s2 := newSource(t, SourceOptions{URL: repo.URL, CacheDir: s.opts.CacheDir, Depth: 1})
	srv.ResetCounts()
	if rev := poll(t, s2); rev.ID != c2 {
		t.Fatalf("restarted poll = %s", rev.ID)
	}
	if c := srv.Counts(); c.Packs != 0 {
		t.Fatalf("restarted poll with a warm cache = %+v, want no pack", c)
	}
}

func TestPollForcePush(t *testing.T) {
	for _, depth := range []int{0, 1} {
		t.Run(fmt.Sprintf("depth=%d", depth), func(t *testing.T) {
			srv := gitserver.Start(t, gitserver.Options{})
			repo := srv.NewRepo(t, "app")
			c1 := repo.Commit(t, "one", map[string]string{"f": "1\n"})
			repo.Commit(t, "two", map[string]string{"f": "2\n"})
			s := newSource(t, SourceOptions{URL: repo.URL, Depth: depth})
			poll(t, s)

			// Rewind: main goes back to c1.
			repo.ForcePush(t, "HEAD~1")
			rev := poll(t, s)
			if rev.ID != c1 || readFile(t, rev, "f") != "1\n" {
				t.Fatalf("after rewind = %s, want %s", rev.ID, c1)
			}
			if !s.Status().Rewritten {
				t.Fatalf("rewind not reported: %+v", s.Status())
			}

			// Diverge: a different commit on top of c1.
			repo.Commit(t, "fast-forward", map[string]string{"f": "ff\n"})
			poll(t, s)
			if s.Status().Rewritten {
				t.Fatalf("fast-forward reported as rewrite: %+v", s.Status())
			}
			repo.ForcePush(t, "HEAD~1")
			c4 := repo.Commit(t, "diverged", map[string]string{"f": "diverged\n"})
			rev = poll(t, s)
			if rev.ID != c4 || readFile(t, rev, "f") != "diverged\n" {
				t.Fatalf("after diverging push = %s, want %s", rev.ID, c4)
			}
			// Only a full history proves the divergence.
			if depth == 0 && !s.Status().Rewritten {
				t.Fatalf("diverging push not reported: %+v", s.Status())
			}
		})
	}
}

func TestPollTags(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	repo := srv.NewRepo(t, "app")
	repo.Commit(t, "v1.0.0", map[string]string{"v": "1.0.0\n"})
	repo.Tag(t, "v1.0.0", true)
	c12 := repo.Commit(t, "v1.2.0", map[string]string{"v": "1.2.0\n"})
	repo.Tag(t, "v1.2.0", true)
	repo.Tag(t, "release", false)
	repo.Commit(t, "v2.0.0", map[string]string{"v": "2.0.0\n"})
	repo.Tag(t, "v2.0.0", false)
	repo.Tag(t, "not-a-version", false)
	repo.Tag(t, "v1.9.0-rc.1", false) // a prerelease: excluded by a plain range

	semverSrc := newSource(t, SourceOptions{URL: repo.URL, SemverTag: ">=1.0.0 <2", Depth: 1})
	if rev := poll(t, semverSrc); rev.ID != c12 {
		t.Fatalf("semver poll = %s (%s), want v1.2.0 %s", rev.ID, rev.Subject, c12)
	}
	if st := semverSrc.Status(); st.Ref != "refs/tags/v1.2.0" {
		t.Fatalf("semver ref = %s", st.Ref)
	}
	tagSrc := newSource(t, SourceOptions{URL: repo.URL, Tag: "release"})
	if rev := poll(t, tagSrc); rev.ID != c12 {
		t.Fatalf("tag poll = %s, want %s", rev.ID, c12)
	}

	// A new matching tag wins; the moved tag is followed.
	c13 := repo.Commit(t, "v1.3.0", map[string]string{"v": "1.3.0\n"})
	repo.Tag(t, "1.3.0", true) // without the v
	repo.Tag(t, "release", false)
	if rev := poll(t, semverSrc); rev.ID != c13 || readFile(t, rev, "v") != "1.3.0\n" {
		t.Fatalf("semver poll after 1.3.0 = %s, want %s", rev.ID, c13)
	}
	if rev := poll(t, tagSrc); rev.ID != c13 {
		t.Fatalf("moved tag poll = %s, want %s", rev.ID, c13)
	}

	none := newSource(t, SourceOptions{URL: repo.URL, SemverTag: ">=3"})
	if _, err := none.Poll(t.Context()); err == nil || !strings.Contains(err.Error(), `no tag matches semver ">=3"`) {
		t.Fatalf("no matching tag: %v", err)
	}
	missing := newSource(t, SourceOptions{URL: repo.URL, Tag: "v9"})
	if _, err := missing.Poll(t.Context()); err == nil || !strings.Contains(err.Error(), `tag "v9" not found`) {
		t.Fatalf("missing tag: %v", err)
	}
}

func TestPollBranches(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	repo := srv.NewRepo(t, "app")
	repo.Commit(t, "main", map[string]string{"f": "main\n"})
	repo.Branch(t, "prod")
	prod := repo.Commit(t, "prod", map[string]string{"f": "prod\n"})
	repo.SetDefaultBranch(t, "prod")

	if rev := poll(t, newSource(t, SourceOptions{URL: repo.URL})); rev.ID != prod {
		t.Fatalf("default branch poll = %s, want prod %s", rev.ID, prod)
	}
	s := newSource(t, SourceOptions{URL: repo.URL, Branch: "main"})
	if rev := poll(t, s); readFile(t, rev, "f") != "main\n" {
		t.Fatal("branch main not tracked")
	}
	bad := newSource(t, SourceOptions{URL: repo.URL, Branch: "nope"})
	if _, err := bad.Poll(t.Context()); err == nil || !strings.Contains(err.Error(), `branch "nope" not found`) {
		t.Fatalf("missing branch: %v", err)
	}

	empty := srv.NewRepo(t, "empty")
	if _, err := newSource(t, SourceOptions{URL: empty.URL}).Poll(t.Context()); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty repository: %v", err)
	}
}

// TestPollAuth runs against the loopback http:// server, so every source
// with credentials allows insecure http (TestInsecureHTTPRefused).
func TestPollAuth(t *testing.T) {
	const user, password = "alice", "pa55-w0rd-secret"
	srv := gitserver.Start(t, gitserver.Options{User: user, Password: password})
	repo := srv.NewRepo(t, "private")
	head := repo.Commit(t, "private", map[string]string{"f": "x\n"})

	ok := newSource(t, SourceOptions{URL: repo.URL, AllowInsecureHTTP: true, Auth: Auth{Username: user, Password: password}})
	if rev := poll(t, ok); rev.ID != head {
		t.Fatalf("authenticated poll = %s", rev.ID)
	}
	tok := newSource(t, SourceOptions{URL: repo.URL, AllowInsecureHTTP: true, Auth: Auth{Username: user, Token: password}})
	if rev := poll(t, tok); rev.ID != head {
		t.Fatalf("token poll = %s", rev.ID)
	}
	inURL := strings.Replace(repo.URL, "http://", "http://"+user+":"+password+"@", 1)
	if rev := poll(t, newSource(t, SourceOptions{URL: inURL, AllowInsecureHTTP: true})); rev.ID != head {
		t.Fatalf("credentials in URL poll = %s", rev.ID)
	}

	const wrong = "wr0ng-pa55word"
	tests := []struct {
		name string
		opts SourceOptions
	}{
		{"wrong password", SourceOptions{URL: repo.URL, AllowInsecureHTTP: true, Auth: Auth{Username: user, Password: wrong}}},
		{"wrong password in url", SourceOptions{URL: strings.Replace(repo.URL, "http://", "http://"+user+":"+wrong+"@", 1), AllowInsecureHTTP: true}},
		{"no credentials", SourceOptions{URL: repo.URL}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newSource(t, tc.opts).Poll(t.Context())
			if err == nil {
				t.Fatal("poll with bad credentials succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, wrong) || strings.Contains(msg, password) {
				t.Fatalf("error leaks the password: %s", msg)
			}
			if !strings.Contains(msg, "authentication required") && !strings.Contains(msg, "authorization failed") {
				t.Fatalf("error does not say authentication: %s", msg)
			}
			var re *RemoteError
			if !errors.As(err, &re) || re.Op != "ls-remote" {
				t.Fatalf("error is not a ls-remote RemoteError: %v", err)
			}
		})
	}
}

func TestPollUnreachable(t *testing.T) {
	url := fmt.Sprintf("http://user:hunter2-secret@127.0.0.1:%d/app.git", testenv.FreePort(t))
	_, err := newSource(t, SourceOptions{URL: url, AllowInsecureHTTP: true}).Poll(t.Context())
	if err == nil {
		t.Fatal("poll of an unreachable server succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "connection refused") || !strings.Contains(msg, "ls-remote http://127.0.0.1:") ||
		strings.Contains(msg, "hunter2") {
		t.Fatalf("unreachable error = %q", msg)
	}
}

func TestPollShallow(t *testing.T) {
	srv := gitserver.Start(t, gitserver.Options{})
	repo := srv.NewRepo(t, "app")
	for i := range 5 {
		repo.Commit(t, fmt.Sprintf("c%d", i), map[string]string{"f": fmt.Sprint(i)})
	}
	for _, tc := range []struct {
		depth       int
		wantShallow bool
		wantCommits int // 0: all of them
	}{{1, true, 1}, {0, false, 0}, {3, true, 3}} {
		t.Run(fmt.Sprint(tc.depth), func(t *testing.T) {
			if tc.wantCommits == 0 {
				fmt.Sscan(repo.Git(t, "rev-list", "--count", "HEAD"), &tc.wantCommits)
			}
			s := newSource(t, SourceOptions{URL: repo.URL, Depth: tc.depth})
			poll(t, s)
			_, err := os.Stat(filepath.Join(s.opts.CacheDir, "shallow"))
			if got := err == nil; got != tc.wantShallow {
				t.Fatalf("shallow file exists = %v, want %v", got, tc.wantShallow)
			}
			out := gitOut(t, s.opts.CacheDir, "rev-list", "--count", "refs/heads/main")
			if out != fmt.Sprint(tc.wantCommits) {
				t.Fatalf("commits in cache = %s, want %d", out, tc.wantCommits)
			}
			// A later shallow fetch on top of a shallow clone works.
			repo.Commit(t, "more", map[string]string{"g": "1"})
			if rev := poll(t, s); readFile(t, rev, "g") != "1" {
				t.Fatal("second fetch not read")
			}
		})
	}
}

func TestPollFileURL(t *testing.T) {
	repo := gitserver.NewLocalRepo(t)
	c1 := repo.Commit(t, "one", map[string]string{"a/b.yaml": "b: 1\n"})
	s := newSource(t, SourceOptions{URL: repo.FileURL, Depth: 1})
	if rev := poll(t, s); rev.ID != c1 || readFile(t, rev, "a/b.yaml") != "b: 1\n" {
		t.Fatalf("file:// poll = %s", rev.ID)
	}
	c2 := repo.Commit(t, "two", map[string]string{"a/b.yaml": "b: 2\n"})
	if rev := poll(t, s); rev.ID != c2 {
		t.Fatalf("file:// second poll = %s", rev.ID)
	}
	if rev := poll(t, s); rev.ID != c2 || s.Status().Fetched {
		t.Fatalf("file:// unchanged poll fetched: %+v", s.Status())
	}
	_, err := newSource(t, SourceOptions{URL: "file://" + filepath.Join(t.TempDir(), "none.git")}).Poll(t.Context())
	if err == nil || !strings.Contains(err.Error(), "ls-remote file://") {
		t.Fatalf("missing file:// repository: %v", err)
	}
}

func TestNewSourceBadOptions(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		opts SourceOptions
		want string
	}{
		{"no url", SourceOptions{CacheDir: dir}, "url is required"},
		{"no cache", SourceOptions{URL: "https://example.invalid/r.git"}, "cache directory is required"},
		{"two refs", SourceOptions{URL: "https://example.invalid/r.git", CacheDir: dir, Branch: "a", Tag: "b"}, "only one of"},
		{"bad scheme", SourceOptions{URL: "ftp://u:topsecret@example.invalid/r.git", CacheDir: dir}, `unsupported scheme "ftp"`},
		{"no scheme", SourceOptions{URL: "example.invalid/r.git", CacheDir: dir}, "no scheme"},
		{"bad semver", SourceOptions{URL: "https://example.invalid/r.git", CacheDir: dir, SemverTag: "not a range"}, "semverTag"},
		{"negative depth", SourceOptions{URL: "https://example.invalid/r.git", CacheDir: dir, Depth: -1}, "negative"},
		{"ssh without key", SourceOptions{URL: "ssh://git@example.invalid/r.git", CacheDir: dir}, "SSH key file"},
		{"ssh without known_hosts", SourceOptions{URL: "ssh://git@example.invalid/r.git", CacheDir: dir, Auth: Auth{SSHKeyFile: "k"}}, "known_hosts"},
		{"empty verify", SourceOptions{URL: "https://example.invalid/r.git", CacheDir: dir, Verify: &VerifyOptions{}}, "no OpenPGP keys"},
		{"bad keyring", SourceOptions{URL: "https://example.invalid/r.git", CacheDir: dir, Verify: &VerifyOptions{OpenPGPKeyRing: "garbage"}}, "openpgp keyring"},
		{"bad allowed signers", SourceOptions{URL: "https://example.invalid/r.git", CacheDir: dir, Verify: &VerifyOptions{AllowedSigners: "\n\nme@x ssh-ed25519 AAAAnotbase64"}}, "allowed signers line 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSource(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewSource = %v, want error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "topsecret") {
				t.Fatalf("error leaks the password: %v", err)
			}
		})
	}
}

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	r := &gitserver.Repo{Work: dir}
	return r.Git(t, args...)
}
