package registry

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv"
	testregistry "github.com/stewardhq/steward/deploy/testenv/registry"
)

// recorder replaces the transport's sleeps: it records what was asked
// and returns at once, so retry tests take no wall time and can check the
// waits exactly.
type recorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *recorder) all() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.waits)
}

func testOptions(insecure ...string) (Options, *recorder) {
	rec := &recorder{}
	o := DefaultOptions()
	o.ConfigFile = filepath.Join(os.TempDir(), "steward-no-such-config.json")
	o.Insecure = insecure
	o.RequestsPerSecond = 1000
	o.Burst = 1000
	o.Retries = 2
	o.sleep = rec.sleep
	return o, rec
}

func newClient(t *testing.T, o Options) *Client {
	t.Helper()
	if _, err := os.Stat(o.ConfigFile); errors.Is(err, os.ErrNotExist) {
		// An explicit file that is missing is an error; tests without
		// credentials write an empty one.
		o.ConfigFile = filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(o.ConfigFile, []byte(`{"auths": {}}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// faults is a reverse proxy in front of the real registry that counts
// requests by path and can answer some itself.
type faults struct {
	URL    *url.URL
	Host   string
	byPath sync.Map // path -> *atomic.Int64
	inject func(r *http.Request, n int64) (status int, retryAfter string)
}

func newFaults(t *testing.T, reg *testregistry.Registry) *faults {
	t.Helper()
	target, _ := url.Parse(reg.URL())
	f := &faults{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, _ := f.byPath.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n := v.(*atomic.Int64).Add(1)
		if f.inject != nil {
			if status, ra := f.inject(r, n); status != 0 {
				if ra != "" {
					w.Header().Set("Retry-After", ra)
				}
				w.WriteHeader(status)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL, _ = url.Parse(srv.URL)
	f.Host = f.URL.Host
	return f
}

func (f *faults) count(path string) int64 {
	v, ok := f.byPath.Load(path)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

func TestTagsListedOncePerScanAndPaginated(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{MaxTags: 10})
	var tags []string
	for i := range 25 {
		tags = append(tags, fmt.Sprintf("1.%d.0", i))
	}
	reg.Tags(t, "team/app", testregistry.Image(t, time.Unix(0, 0), "a"), tags)
	f := newFaults(t, reg)
	o, _ := testOptions(f.Host)
	o.PageSize = 10
	c := newClient(t, o)
	image := f.Host + "/team/app"

	scan := c.Scan()
	var wg sync.WaitGroup
	results := make([][]string, 8) // eight policies on one repository
	errs := make([]error, 8)
	for i := range results {
		wg.Go(func() { results[i], errs[i] = scan.Tags(t.Context(), image) })
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		got := slices.Sorted(slices.Values(results[i]))
		if !slices.Equal(got, slices.Sorted(slices.Values(tags))) {
			t.Fatalf("tags = %v (%d), want the 25 pushed", got, len(got))
		}
	}
	st := c.Stats()
	if st.TagLists != 1 || st.TagPages != 3 || f.count("/v2/team/app/tags/list") != 3 {
		t.Fatalf("tag listings %d, pages %d (proxy saw %d); want 3 pages of one listing", st.TagLists, st.TagPages, f.count("/v2/team/app/tags/list"))
	}
	if st.Manifests != 0 || st.Blobs != 0 {
		t.Fatalf("manifest/blob requests without a need: %+v", st)
	}
	// A new scan lists again (tags move); the old one still answers from memory.
	if _, err := c.Scan().Tags(t.Context(), image); err != nil {
		t.Fatal(err)
	}
	if _, err := scan.Tags(t.Context(), image); err != nil {
		t.Fatal(err)
	}
	if st := c.Stats(); st.TagLists != 2 || st.TagPages != 6 {
		t.Fatalf("after a second scan: %d listings, %d pages; want 2 and 6", st.TagLists, st.TagPages)
	}
}

func TestCreatedAndDigestCachedByDigest(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	created := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	d1 := reg.PushAt(t, "app", "1.0.0", created)
	f := newFaults(t, reg)
	o, _ := testOptions(f.Host)
	c := newClient(t, o)
	image := f.Host + "/app"

	got, digest, err := c.Scan().Created(t.Context(), image, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Equal(created) || digest != d1.String() {
		t.Fatalf("Created = %s %s, want %s %s", got, digest, created, d1)
	}
	first := c.Stats()
	if first.Manifests != 2 || first.Blobs != 1 {
		t.Fatalf("first read: %d manifest and %d blob requests, want 2 (HEAD, GET) and 1", first.Manifests, first.Blobs)
	}
	// Another scan: one HEAD finds the digest in the cache.
	if _, _, err := c.Scan().Created(t.Context(), image, "1.0.0"); err != nil {
		t.Fatal(err)
	}
	second := c.Stats()
	if second.Manifests-first.Manifests != 1 || second.Blobs != first.Blobs {
		t.Fatalf("cached read sent %d manifest and %d blob requests, want 1 and 0", second.Manifests-first.Manifests, second.Blobs-first.Blobs)
	}

	// The tag is re-pushed with a new digest: a new scan sees it.
	d2 := reg.PushAt(t, "app", "1.0.0", created.Add(time.Hour))
	if d2 == d1 {
		t.Fatal("re-push kept the digest")
	}
	pinned, err := c.Scan().Digest(t.Context(), image, "1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if pinned != d2.String() {
		t.Fatalf("digest after re-push = %s, want %s", pinned, d2)
	}
	at, _, err := c.Scan().Created(t.Context(), image, "1.0.0")
	if err != nil || !at.Equal(created.Add(time.Hour)) {
		t.Fatalf("created after re-push = %s, %v", at, err)
	}
}

func TestAuthFromDockerConfig(t *testing.T) {
	const user, password = "robot", "pw-7c1e9f0d-never-logged"
	reg := testregistry.Start(t, testregistry.Options{User: user, Password: password})
	reg.PushAt(t, "private/app", "1.0.0", time.Unix(0, 0))
	image := reg.Repo("private/app")
	dir := t.TempDir()
	write := func(name, pass string) string {
		p := filepath.Join(dir, name)
		auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
		cfg := fmt.Sprintf(`{"auths": {"http://%s": {"auth": %q}}, "credsStore": "desktop"}`, reg.Host, auth)
		if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	var logs bytes.Buffer
	o, _ := testOptions(reg.Host)
	o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.ConfigFile = write("good.json", password)
	tags, err := newClient(t, o).Scan().Tags(t.Context(), image)
	if err != nil || !slices.Equal(tags, []string{"1.0.0"}) {
		t.Fatalf("authenticated list = %v, %v", tags, err)
	}

	o.ConfigFile = write("bad.json", password+"-wrong")
	_, err = newClient(t, o).Scan().Tags(t.Context(), image)
	var re *Error
	if !errors.As(err, &re) || re.Status != http.StatusUnauthorized {
		t.Fatalf("wrong password: err = %v, want a 401 *Error", err)
	}

	o.ConfigFile = write("none.json", "x")
	if err := os.WriteFile(o.ConfigFile, []byte(`{"auths": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, anonErr := newClient(t, o).Scan().Tags(t.Context(), image)
	if !errors.As(anonErr, &re) || re.Status != http.StatusUnauthorized {
		t.Fatalf("anonymous: err = %v, want a 401 *Error", anonErr)
	}

	secrets := []string{password, base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}
	for _, s := range secrets {
		for what, text := range map[string]string{"log": logs.String(), "error": err.Error(), "anonymous error": anonErr.Error()} {
			if strings.Contains(text, s) || strings.Contains(text, "pw-7c1e") {
				t.Fatalf("a credential reached the %s:\n%s", what, text)
			}
		}
	}
	if !strings.Contains(logs.String(), "credential helpers") || !strings.Contains(logs.String(), "registry request") {
		t.Fatalf("log lacks the helper note or the request lines:\n%s", logs.String())
	}
}

func TestConfigFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"syntax.json": `{"auths": {"r.example": {"auth": "c2VjcmV0LXZhbHVl"}` + "\n",
		"type.json":   `{"auths": ["secret-value"]}`,
		"auth.json":   `{"auths": {"r.example": {"auth": "not base64 secret-value"}}}`,
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		o := DefaultOptions()
		o.ConfigFile = p
		_, err := New(o)
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Fatalf("%s: err = %v, want one naming the file", name, err)
		}
		if strings.Contains(err.Error(), "secret-value") || strings.Contains(err.Error(), "c2VjcmV0") {
			t.Fatalf("%s: the error quotes the file: %v", name, err)
		}
	}
	o := DefaultOptions()
	o.ConfigFile = filepath.Join(dir, "missing.json")
	if _, err := New(o); err == nil {
		t.Fatal("an explicit config file that is missing was accepted")
	}
	// Anonymous reads no file: not the missing one, and not the default
	// one, here unreadable as JSON.
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".docker"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".docker", "config.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("DOCKER_CONFIG", "")
	if _, err := New(DefaultOptions()); err == nil {
		t.Fatal("the default config file was not read (the check below proves nothing)")
	}
	o.Anonymous = true
	if _, err := New(o); err != nil {
		t.Fatalf("anonymous with a missing file: %v", err)
	}
	o.ConfigFile = ""
	if _, err := New(o); err != nil {
		t.Fatalf("anonymous read the default config file: %v", err)
	}
}

func TestPlainHTTPOnlyWhenListed(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushAt(t, "app", "1", time.Unix(0, 0))
	o, _ := testOptions() // nothing listed
	_, err := newClient(t, o).Scan().Tags(t.Context(), reg.Repo("app"))
	var ie *InsecureError
	if !errors.As(err, &ie) || ie.Host != reg.Host {
		t.Fatalf("unlisted plain-HTTP registry: err = %v, want an *InsecureError for %s", err, reg.Host)
	}
	o, _ = testOptions(reg.Host)
	if _, err := newClient(t, o).Scan().Tags(t.Context(), reg.Repo("app")); err != nil {
		t.Fatalf("listed registry: %v", err)
	}
}

func TestServerErrorsRetriedWithBackoff(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushAt(t, "app", "1", time.Unix(0, 0))
	f := newFaults(t, reg)
	list := "/v2/app/tags/list"
	f.inject = func(r *http.Request, n int64) (int, string) {
		if r.URL.Path == list && n <= 2 {
			return http.StatusInternalServerError, ""
		}
		return 0, ""
	}
	o, rec := testOptions(f.Host)
	o.RetryBase, o.RetryMax = 100*time.Millisecond, time.Second
	c := newClient(t, o)
	tags, err := c.Scan().Tags(t.Context(), f.Host+"/app")
	if err != nil || !slices.Equal(tags, []string{"1"}) {
		t.Fatalf("after two 500s: %v, %v", tags, err)
	}
	waits := rec.all()
	if c.Stats().Retries != 2 || f.count(list) != 3 || len(waits) != 2 {
		t.Fatalf("retries %d, proxy saw %d, waits %v; want 2, 3, 2", c.Stats().Retries, f.count(list), waits)
	}
	// Exponential: the first wait is within [50ms, 100ms], the second within [100ms, 200ms].
	if waits[0] < 50*time.Millisecond || waits[0] > 100*time.Millisecond || waits[1] < 100*time.Millisecond || waits[1] > 200*time.Millisecond {
		t.Fatalf("backoff waits %v", waits)
	}

	// Always 500: the scan reports it after Retries+1 tries.
	f.inject = func(r *http.Request, n int64) (int, string) {
		if r.URL.Path == "/v2/app/tags/list" {
			return http.StatusInternalServerError, ""
		}
		return 0, ""
	}
	before := f.count(list)
	_, err = c.Scan().Tags(t.Context(), f.Host+"/app")
	var re *Error
	if !errors.As(err, &re) || re.Status != http.StatusInternalServerError || re.Op != "list tags" {
		t.Fatalf("persistent 500: err = %v", err)
	}
	if n := f.count(list) - before; n != 3 {
		t.Fatalf("persistent 500 tried %d times, want 3", n)
	}
}

func TestTooManyRequestsHonoursRetryAfter(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushAt(t, "app", "1", time.Unix(0, 0))
	f := newFaults(t, reg)
	list := "/v2/app/tags/list"
	f.inject = func(r *http.Request, n int64) (int, string) {
		if r.URL.Path == list && n == 1 {
			return http.StatusTooManyRequests, "7"
		}
		return 0, ""
	}
	o, rec := testOptions(f.Host)
	c := newClient(t, o)
	if _, err := c.Scan().Tags(t.Context(), f.Host+"/app"); err != nil {
		t.Fatal(err)
	}
	waits := rec.all()
	if len(waits) == 0 || waits[0] != 7*time.Second || c.Stats().Throttled != 1 || f.count(list) != 2 {
		t.Fatalf("waits %v, throttled %d, tries %d; want a first wait of exactly 7s, 1, 2", waits, c.Stats().Throttled, f.count(list))
	}

	// A Retry-After beyond MaxRetryAfter is not waited for: the scan fails.
	f.inject = func(r *http.Request, n int64) (int, string) {
		if r.URL.Path == list {
			return http.StatusTooManyRequests, "3600"
		}
		return 0, ""
	}
	before := f.count(list)
	_, err := c.Scan().Tags(t.Context(), f.Host+"/app")
	var re *Error
	if !errors.As(err, &re) || re.Status != http.StatusTooManyRequests {
		t.Fatalf("long Retry-After: err = %v, want a 429 *Error", err)
	}
	if n := f.count(list) - before; n != 1 {
		t.Fatalf("long Retry-After: %d tries, want 1", n)
	}
}

func TestUnreachableAndNotFound(t *testing.T) {
	host := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)) // nothing listens
	o, rec := testOptions(host)
	c := newClient(t, o)
	_, err := c.Scan().Tags(t.Context(), host+"/app")
	var re *Error
	if !errors.As(err, &re) || re.Status != 0 || re.Image != host+"/app" {
		t.Fatalf("unreachable: err = %v, want an *Error without status", err)
	}
	if len(rec.all()) == 0 || c.Stats().Retries == 0 {
		t.Fatalf("unreachable registry was not retried: %+v", c.Stats())
	}

	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushAt(t, "app", "1", time.Unix(0, 0))
	o, _ = testOptions(reg.Host)
	scan := newClient(t, o).Scan()
	if _, err := scan.Tags(t.Context(), reg.Repo("nothing-here")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown repository: err = %v, want ErrNotFound", err)
	}
	if _, err := scan.Digest(t.Context(), reg.Repo("app"), "9.9.9"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown tag: err = %v, want ErrNotFound", err)
	}
	if _, err := scan.Tags(t.Context(), "Not A Repo"); err == nil {
		t.Fatal("a malformed image name was accepted")
	}
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }

// TestRateLimitPerRegistry: a registry whose budget is spent holds its own
// requests and no other registry's. rate.Limiter refuses at once a wait
// that would outlast the context's deadline, so nothing here sleeps.
func TestRateLimitPerRegistry(t *testing.T) {
	a := testregistry.Start(t, testregistry.Options{})
	b := testregistry.Start(t, testregistry.Options{})
	a.PushAt(t, "app", "1", time.Unix(0, 0))
	b.PushAt(t, "app", "1", time.Unix(0, 0))
	o, _ := testOptions(a.Host, b.Host)
	o.RequestsPerSecond = 0.0001 // one request per ~3 hours after the burst
	o.Burst = 3                  // a first scan: the https and http pings, one tag list
	c := newClient(t, o)
	if _, err := c.Scan().Tags(t.Context(), a.Repo("app")); err != nil {
		t.Fatalf("within the burst: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := c.Scan().Tags(ctx, a.Repo("app")); err == nil || !strings.Contains(err.Error(), "rate") {
		t.Fatalf("budget spent: err = %v, want the rate limit's refusal", err)
	}
	if _, err := c.Scan().Tags(ctx, b.Repo("app")); err != nil {
		t.Fatalf("another registry was held by the first one's limit: %v", err)
	}
}
