package gitserver

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Repo is a bare repository (on a Server, or local) and a work clone whose
// commits every helper pushes to it.
type Repo struct {
	// Bare is the bare repository's directory.
	Bare string
	// Work is the work clone's directory.
	Work string
	// URL is the http URL when the repository is on a Server, else "".
	URL string
	// FileURL is the bare repository's file:// URL.
	FileURL string

	tb testing.TB
}

// Git runs git in the work clone and returns its trimmed stdout; a failure
// fails the test.
func (r *Repo) Git(tb testing.TB, args ...string) string {
	tb.Helper()
	return r.run(tb, r.Work, args...)
}

// GitBare runs git in the bare repository.
func (r *Repo) GitBare(tb testing.TB, args ...string) string {
	tb.Helper()
	return r.run(tb, r.Bare, args...)
}

func (r *Repo) run(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	return runEnv(tb, dir, nil, args...)
}

func runEnv(tb testing.TB, dir string, extra []string, args ...string) string {
	tb.Helper()
	home := os.Getenv("STEWARD_GITSERVER_HOME")
	if home == "" {
		home = os.TempDir()
	}
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(gitEnv(home), extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// Write writes files (slash paths relative to the work clone) without
// committing; parent directories are created. Mode 0644, or 0755 for names
// ending in ".sh".
func (r *Repo) Write(tb testing.TB, files map[string]string) {
	tb.Helper()
	for name, content := range files {
		p := filepath.Join(r.Work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			tb.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			tb.Fatal(err)
		}
	}
}

// Symlink creates the symlink name -> target in the work clone.
func (r *Repo) Symlink(tb testing.TB, name, target string) {
	tb.Helper()
	p := filepath.Join(r.Work, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		tb.Fatal(err)
	}
	_ = os.Remove(p)
	if err := os.Symlink(target, p); err != nil {
		tb.Fatal(err)
	}
}

// Remove deletes files from the work clone without committing.
func (r *Repo) Remove(tb testing.TB, names ...string) {
	tb.Helper()
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(r.Work, filepath.FromSlash(n))); err != nil {
			tb.Fatal(err)
		}
	}
}

// Commit writes files, commits everything in the work clone and pushes the
// current branch (forced: the work clone is the truth). It returns the new
// commit id.
func (r *Repo) Commit(tb testing.TB, msg string, files map[string]string) string {
	tb.Helper()
	r.Write(tb, files)
	return r.commit(tb, nil, msg)
}

func (r *Repo) commit(tb testing.TB, env []string, msg string, extra ...string) string {
	tb.Helper()
	r.Git(tb, "add", "-A")
	args := append([]string{"commit", "-q", "--allow-empty", "-m", msg}, extra...)
	runEnv(tb, r.Work, env, args...)
	r.Push(tb)
	return r.Head(tb)
}

// Push force-pushes the work clone's current branch to the bare repository.
func (r *Repo) Push(tb testing.TB) {
	tb.Helper()
	r.Git(tb, "push", "-q", "-f", "origin", "HEAD")
}

// Head returns the work clone's HEAD commit id.
func (r *Repo) Head(tb testing.TB) string {
	tb.Helper()
	return r.Git(tb, "rev-parse", "HEAD")
}

// Branch switches the work clone to branch name (created at HEAD when new).
func (r *Repo) Branch(tb testing.TB, name string) {
	tb.Helper()
	r.Git(tb, "checkout", "-q", "-B", name)
}

// SetDefaultBranch points the bare repository's HEAD at branch name.
func (r *Repo) SetDefaultBranch(tb testing.TB, name string) {
	tb.Helper()
	r.GitBare(tb, "symbolic-ref", "HEAD", "refs/heads/"+name)
}

// ForcePush rewrites history: the current branch is reset to rev (e.g.
// "HEAD~1") and force-pushed. It returns the new head.
func (r *Repo) ForcePush(tb testing.TB, rev string) string {
	tb.Helper()
	r.Git(tb, "reset", "-q", "--hard", rev)
	r.Push(tb)
	return r.Head(tb)
}

// Tag tags HEAD as name (annotated when annotated is set) and pushes it.
func (r *Repo) Tag(tb testing.TB, name string, annotated bool) string {
	tb.Helper()
	if annotated {
		r.Git(tb, "tag", "-f", "-a", "-m", "release "+name, name)
	} else {
		r.Git(tb, "tag", "-f", name)
	}
	r.Git(tb, "push", "-q", "-f", "origin", "refs/tags/"+name)
	return r.Head(tb)
}
