package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/stewardhq/steward/deploy/testenv"
)

// Binary is the file name build.sh gives the registry in testenv.BinDir().
const Binary = "registry"

// Options configure a Registry.
type Options struct {
	// User and Password, when set, require HTTP basic auth (htpasswd) on
	// every request.
	User, Password string
	// MaxTags caps the tags of one tag-list page (the server answers fewer
	// than asked and a Link to the next page). 0 leaves the server default.
	MaxTags int
}

// Registry is a running distribution registry.
type Registry struct {
	// Host is host:port on 127.0.0.1; an image is Host + "/" + repository.
	Host string
	// Root is the storage directory.
	Root string

	opts Options
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs a registry until the test ends. It calls testenv.Missing when
// the binary has not been built.
func Start(tb testing.TB, opts Options) *Registry {
	tb.Helper()
	bin := filepath.Join(testenv.BinDir(), Binary)
	if _, err := os.Stat(bin); err != nil {
		testenv.Missing(tb, "%s not found", bin)
	}
	dir := tb.TempDir()
	r := &Registry{Root: filepath.Join(dir, "storage"), opts: opts, done: make(chan struct{})}
	r.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(testenv.FreePort(tb)))
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, r.config(tb, dir), 0o600); err != nil {
		tb.Fatalf("registry: %v", err)
	}
	log, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		tb.Fatalf("registry: %v", err)
	}
	r.cmd = exec.Command(bin, "serve", cfg)
	r.cmd.Stdout, r.cmd.Stderr = log, log
	r.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "OTEL_TRACES_EXPORTER=none"}
	// The registry dies with the test binary even when that is killed.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		log.Close()
		tb.Fatalf("registry: start: %v", err)
	}
	go func() {
		_ = r.cmd.Wait()
		log.Close()
		close(r.done)
	}()
	tb.Cleanup(r.stop)
	if err := r.waitReady(30 * time.Second); err != nil {
		out, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
		tb.Fatalf("registry: %v\n%s", err, tail(out, 4096))
	}
	return r
}

func (r *Registry) config(tb testing.TB, dir string) []byte {
	tb.Helper()
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog: {disabled: true}
storage:
  filesystem: {rootdirectory: %q}
  delete: {enabled: true}
  maintenance: {uploadpurging: {enabled: false}}
http:
  addr: %q
  secret: steward-testenv
`, r.Root, r.Host)
	if r.opts.MaxTags > 0 {
		cfg += fmt.Sprintf("tags: {maxtags: %d}\n", r.opts.MaxTags)
	}
	if r.opts.User != "" || r.opts.Password != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(r.opts.Password), bcrypt.MinCost)
		if err != nil {
			tb.Fatalf("registry: htpasswd: %v", err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(r.opts.User+":"+string(hash)+"\n"), 0o600); err != nil {
			tb.Fatalf("registry: %v", err)
		}
		cfg += fmt.Sprintf("auth:\n  htpasswd: {realm: steward-test, path: %q}\n", htpasswd)
	}
	return []byte(cfg)
}

// waitReady polls /v2/ until the registry answers (200, or 401 with auth).
func (r *Registry) waitReady(limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.URL()+"/v2/", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		select {
		case <-r.done:
			return errors.New("exited before it was ready")
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s", limit)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (r *Registry) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// URL is the registry's base URL (http://127.0.0.1:PORT).
func (r *Registry) URL() string { return "http://" + r.Host }

// Repo returns the image name of repository repo in this registry.
func (r *Registry) Repo(repo string) string { return r.Host + "/" + repo }

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
