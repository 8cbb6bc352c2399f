package registry

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Options configure a Client.
type Options struct {
	// ConfigFile is a docker config.json with credentials under "auths".
	// Empty means ~/.docker/config.json when it exists, else anonymous.
	ConfigFile string
	// Anonymous reads no credentials file at all: every registry is reached
	// without credentials.
	Anonymous bool
	// Insecure lists registries (host or host:port) that may be reached
	// over plain HTTP or TLS without verification. No other is.
	Insecure []string
	// RequestsPerSecond and Burst bound the requests to one registry.
	RequestsPerSecond float64
	Burst             int
	// Retries is how many times a request that failed with 429, a 5xx or
	// a network error is tried again.
	Retries int
	// RetryBase and RetryMax bound the exponential backoff between tries.
	RetryBase, RetryMax time.Duration
	// MaxRetryAfter is the longest Retry-After honoured; a registry asking
	// for more fails the request with ErrRateLimited.
	MaxRetryAfter time.Duration
	// PageSize is the n of a tag-list request (the registry may answer
	// fewer, with a link to the next page).
	PageSize int
	// Platform picks the image of a multi-platform index whose config is
	// read ("linux/amd64").
	Platform string
	// Transport is the base HTTP transport (nil: a clone of
	// http.DefaultTransport).
	Transport http.RoundTripper
	// UserAgent is sent with every request.
	UserAgent string
	// Logger receives one debug line per request (method, host, path,
	// status) and the retries; nil discards.
	Logger *slog.Logger

	// sleep waits between tries; tests replace it to record the waits.
	sleep func(ctx context.Context, d time.Duration) error
}

// DefaultOptions are 20 requests per second per registry (burst 20), 4
// retries from 500ms up to 30s, Retry-After honoured up to 2m, pages of
// 1000 tags, linux/amd64.
func DefaultOptions() Options {
	return Options{
		RequestsPerSecond: 20,
		Burst:             20,
		Retries:           4,
		RetryBase:         500 * time.Millisecond,
		RetryMax:          30 * time.Second,
		MaxRetryAfter:     2 * time.Minute,
		PageSize:          1000,
		Platform:          "linux/amd64",
		UserAgent:         "steward",
	}
}

// withDefaults fills the zero fields from DefaultOptions.
func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.RequestsPerSecond <= 0 {
		o.RequestsPerSecond = d.RequestsPerSecond
	}
	if o.Burst <= 0 {
		o.Burst = d.Burst
	}
	o.Retries = max(o.Retries, 0) // 0 is no retry: start from DefaultOptions
	if o.RetryBase <= 0 {
		o.RetryBase = d.RetryBase
	}
	if o.RetryMax <= 0 {
		o.RetryMax = d.RetryMax
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = d.MaxRetryAfter
	}
	if o.PageSize <= 0 {
		o.PageSize = d.PageSize
	}
	if o.Platform == "" {
		o.Platform = d.Platform
	}
	if o.UserAgent == "" {
		o.UserAgent = d.UserAgent
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.sleep == nil {
		o.sleep = sleepCtx
	}
	return o
}

// defaultConfigFile is ~/.docker/config.json, or "" without a home.
func defaultConfigFile() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".docker", "config.json")
}
