package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Stats counts the HTTP requests a Client sent, by kind. Retries are
// counted in their kind too.
type Stats struct {
	Requests  int64 // every request
	Pings     int64 // GET /v2/ (one per repository and scan, for auth)
	TagLists  int64 // tag listings (first pages)
	TagPages  int64 // tag-list pages, the first ones included
	Manifests int64 // manifest HEADs and GETs
	Blobs     int64 // config blobs
	Other     int64 // token exchanges and anything else
	Retries   int64 // requests sent again after 429, 5xx or a network error
	Throttled int64 // 429 answers
}

type counters struct {
	requests, pings, tagLists, tagPages, manifests, blobs, other, retries, throttled atomic.Int64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Requests: c.requests.Load(), Pings: c.pings.Load(), TagLists: c.tagLists.Load(), TagPages: c.tagPages.Load(),
		Manifests: c.manifests.Load(), Blobs: c.blobs.Load(), Other: c.other.Load(),
		Retries: c.retries.Load(), Throttled: c.throttled.Load(),
	}
}

func (c *counters) count(u *url.URL) {
	c.requests.Add(1)
	path := u.Path
	switch {
	case path == "/v2/" || path == "/v2":
		c.pings.Add(1)
	case strings.HasSuffix(path, "/tags/list"):
		c.tagPages.Add(1)
		if !u.Query().Has("last") {
			c.tagLists.Add(1)
		}
	case strings.Contains(path, "/manifests/"):
		c.manifests.Add(1)
	case strings.Contains(path, "/blobs/"):
		c.blobs.Add(1)
	default:
		c.other.Add(1)
	}
}

// InsecureError refuses plain HTTP to a registry not listed as insecure.
type InsecureError struct{ Host string }

func (e *InsecureError) Error() string {
	return fmt.Sprintf("plain HTTP to %s refused: the registry is not listed in insecureRegistries", e.Host)
}

// transport is the bottom of every request's stack: it picks the verified
// or the insecure base transport, waits for the registry's rate limit and
// any Retry-After, and retries what may succeed later.
type transport struct {
	opts     Options
	secure   http.RoundTripper
	insecure http.RoundTripper
	allowed  map[string]bool
	stats    *counters

	mu    sync.Mutex
	hosts map[string]*hostState
}

type hostState struct {
	limiter   *rate.Limiter
	notBefore time.Time // guarded by transport.mu: a 429's Retry-After
}

func newTransport(opts Options, stats *counters) *transport {
	base := opts.Transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport).Clone()
	}
	insecure := base
	if ht, ok := base.(*http.Transport); ok {
		ht = ht.Clone()
		if ht.TLSClientConfig == nil {
			ht.TLSClientConfig = &tls.Config{}
		}
		ht.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // only for registries listed in insecureRegistries
		insecure = ht
	}
	allowed := map[string]bool{}
	for _, h := range opts.Insecure {
		allowed[registryHost(h)] = true
	}
	return &transport{opts: opts, secure: base, insecure: insecure, allowed: allowed, stats: stats, hosts: map[string]*hostState{}}
}

func (t *transport) host(h string) *hostState {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.hosts[h]
	if !ok {
		s = &hostState{limiter: rate.NewLimiter(rate.Limit(t.opts.RequestsPerSecond), t.opts.Burst)}
		t.hosts[h] = s
	}
	return s
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Host
	insecure := t.allowed[registryHost(host)]
	if req.URL.Scheme == "http" && !insecure {
		return nil, &InsecureError{Host: host}
	}
	base := t.secure
	if insecure {
		base = t.insecure
	}
	hs := t.host(host)
	ctx := req.Context()
	retryable := (req.Method == http.MethodGet || req.Method == http.MethodHead) && req.Body == nil
	for attempt := 0; ; attempt++ {
		if err := t.wait(ctx, hs); err != nil {
			return nil, err
		}
		t.stats.count(req.URL)
		if attempt > 0 {
			t.stats.retries.Add(1)
		}
		resp, err := base.RoundTrip(req)
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.opts.Logger.Debug("registry request", "method", req.Method, "host", host, "path", req.URL.Path, "status", status, "attempt", attempt)
		if status == http.StatusTooManyRequests {
			t.stats.throttled.Add(1)
		}
		if !retryable || attempt >= t.opts.Retries || ctx.Err() != nil {
			return resp, err
		}
		delay, again, reason := t.retryAfter(resp, err, attempt)
		if !again {
			return resp, err
		}
		if resp != nil {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if status == http.StatusTooManyRequests {
			t.mu.Lock()
			hs.notBefore = time.Now().Add(delay) // holds every other request to the host too
			t.mu.Unlock()
		}
		t.opts.Logger.Info("registry request retried", "host", host, "path", req.URL.Path, "reason", reason, "after", delay)
		if err := t.opts.sleep(ctx, delay); err != nil {
			return nil, err
		}
	}
}

// wait blocks until the host's Retry-After has passed and its rate limit
// lets one more request through.
func (t *transport) wait(ctx context.Context, hs *hostState) error {
	t.mu.Lock()
	until := time.Until(hs.notBefore)
	t.mu.Unlock()
	if until > 0 {
		if err := t.opts.sleep(ctx, until); err != nil {
			return err
		}
	}
	return hs.limiter.Wait(ctx)
}

// retryAfter decides whether a try is repeated, and after how long.
func (t *transport) retryAfter(resp *http.Response, err error, attempt int) (time.Duration, bool, string) {
	backoff := t.backoff(attempt)
	if err != nil {
		if !transient(err) {
			return 0, false, ""
		}
		return backoff, true, "network error"
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After")); ok {
			if d > t.opts.MaxRetryAfter {
				return 0, false, ""
			}
			return d, true, fmt.Sprintf("status %d, Retry-After %s", resp.StatusCode, d)
		}
		return backoff, true, fmt.Sprintf("status %d", resp.StatusCode)
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return backoff, true, fmt.Sprintf("status %d", resp.StatusCode)
	}
	return 0, false, ""
}

// backoff is RetryBase doubled per attempt up to RetryMax, with jitter in
// its upper half.
func (t *transport) backoff(attempt int) time.Duration {
	d := t.opts.RetryBase << min(attempt, 20)
	if d <= 0 || d > t.opts.RetryMax {
		d = t.opts.RetryMax
	}
	return d/2 + rand.N(d/2+1)
}

// transient reports a network error that may go away: not a TLS or
// certificate failure, which will not.
func transient(err error) bool {
	var rh tls.RecordHeaderError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var ie *InsecureError
	if errors.As(err, &rh) || errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) || errors.As(err, &ie) {
		return false
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// parseRetryAfter reads delay-seconds or an HTTP date.
func parseRetryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(time.Until(at), 0), true
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
