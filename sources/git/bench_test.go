package git

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
)

// BenchmarkUnchangedPoll polls an unchanged branch on the http-backend and
// reports the requests per poll; the peer is `git fetch` of the same
// unchanged branch in a clone.
func BenchmarkUnchangedPoll(b *testing.B) {
	srv := gitserver.Start(b, gitserver.Options{})
	repo := srv.NewRepo(b, "app")
	repo.Commit(b, "one", map[string]string{"steward.yaml": "x: 1\n"})
	s, err := NewSource(SourceOptions{URL: repo.URL, Depth: 1, CacheDir: filepath.Join(b.TempDir(), "cache")})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Poll(b.Context()); err != nil {
		b.Fatal(err)
	}
	clone := filepath.Join(b.TempDir(), "clone")
	if out, err := exec.Command("git", "clone", "-q", "--bare", repo.URL, clone).CombinedOutput(); err != nil {
		b.Fatalf("clone: %v\n%s", err, out)
	}

	srv.ResetCounts()
	n := 0
	start := time.Now()
	for b.Loop() {
		if _, err := s.Poll(b.Context()); err != nil {
			b.Fatal(err)
		}
		n++
	}
	ours := time.Since(start)
	c := srv.Counts()
	b.ReportMetric(float64(c.RefAdvertisements)/float64(n), "refads/poll")
	b.ReportMetric(float64(c.Packs)/float64(n), "packs/poll")

	srv.ResetCounts()
	peerStart := time.Now()
	for range n {
		cmd := exec.Command("git", "-C", clone, "fetch", "-q", "origin", "+refs/heads/main:refs/heads/main")
		cmd.Env = append(os.Environ(), "GIT_PROTOCOL=version=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git fetch: %v\n%s", err, out)
		}
	}
	peer := time.Since(peerStart)
	pc := srv.Counts()
	ratio := float64(ours) / float64(peer)
	b.ReportMetric(float64(peer.Nanoseconds())/float64(n), "git-fetch-ns/op")
	b.ReportMetric(ratio, "ratio")
	b.Logf("unchanged poll: steward %v/poll (%.0f ref advertisements, %.0f packs per poll); git fetch %v/poll (%d ads, %d packs); ratio %.2f",
		ours/time.Duration(n), float64(c.RefAdvertisements)/float64(n), float64(c.Packs)/float64(n),
		peer/time.Duration(n), pc.RefAdvertisements/int64(n), pc.Packs/int64(n), ratio)
}

// BenchmarkTreeReadAll reads every file of a 200-unit / 4000-file commit
// through Tree(); the peer is `git archive` of the same commit.
func BenchmarkTreeReadAll(b *testing.B) {
	repo := gitserver.NewLocalRepo(b)
	files := map[string]string{}
	for u := range 200 {
		for f := range 20 {
			files[fmt.Sprintf("units/u%03d/obj%02d.yaml", u, f)] = fmt.Sprintf(
				"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: u%03d-obj%02d\ndata:\n  key: %q\n", u, f, fmt.Sprint(u*f))
		}
	}
	head := repo.Commit(b, "4000 files", files)
	repo.GitBare(b, "gc", "-q")
	r, err := Open(b.Context(), repo.Bare)
	if err != nil {
		b.Fatal(err)
	}

	n, read := 0, 0
	start := time.Now()
	for b.Loop() {
		rev, err := r.Tree(b.Context(), head)
		if err != nil {
			b.Fatal(err)
		}
		read = 0
		err = fs.WalkDir(rev.Tree, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			_, err = fs.ReadFile(rev.Tree, p)
			read++
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	ours := time.Since(start)
	if read != 4000 {
		b.Fatalf("read %d files, want 4000", read)
	}

	peerStart := time.Now()
	for range n {
		cmd := exec.Command("git", "-C", repo.Bare, "archive", "--format=tar", head)
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, out); err != nil {
			b.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			b.Fatalf("git archive: %v", err)
		}
	}
	peer := time.Since(peerStart)
	ratio := float64(ours) / float64(peer)
	b.ReportMetric(float64(peer.Nanoseconds())/float64(n), "git-archive-ns/op")
	b.ReportMetric(ratio, "ratio")
	b.Logf("4000 files: Tree()+read all %v/op, git archive %v/op, ratio %.2f", ours/time.Duration(n), peer/time.Duration(n), ratio)
}
