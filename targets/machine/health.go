package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/template"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// Health check defaults, as the stack file documents them.
const (
	DefaultHealthRetries  = 3
	DefaultHealthInterval = 2 * time.Second
	DefaultHealthTimeout  = 10 * time.Second
)

// checkHealth runs hc against h until it passes or the attempts run out.
func (t *Target) checkHealth(ctx context.Context, h *host, hc *reconcile.Health) error {
	retries := hc.Retries
	if retries <= 0 {
		retries = DefaultHealthRetries
	}
	interval := hc.Interval.Or(DefaultHealthInterval)
	timeout := hc.Timeout.Or(DefaultHealthTimeout)
	var last error
	for attempt := 1; attempt <= retries; attempt++ {
		actx, cancel := context.WithTimeout(ctx, timeout)
		last = t.probe(actx, h, hc)
		cancel()
		if last == nil {
			return nil
		}
		if attempt < retries {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(interval):
			}
		}
	}
	return fmt.Errorf("%d attempts, last: %w", retries, last)
}

func (t *Target) probe(ctx context.Context, h *host, hc *reconcile.Health) error {
	switch {
	case hc.Command != nil:
		return h.must(ctx, hc.Command.Run...)
	case hc.HTTP != nil:
		return t.probeHTTP(ctx, h, hc.HTTP)
	}
	return nil
}

func (t *Target) probeHTTP(ctx context.Context, h *host, hh *reconcile.HTTPHealth) error {
	raw, err := HealthURL(hh.URL, h.name)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return fmt.Errorf("health url: %w", err)
	}
	resp, err := t.cfg.HTTPClient.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("GET %s: %w", redact(raw), ue.Err)
		}
		return fmt.Errorf("GET %s: %w", redact(raw), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	if hh.Status != 0 {
		ok = resp.StatusCode == hh.Status
	}
	if !ok {
		return fmt.Errorf("GET %s: status %d", redact(raw), resp.StatusCode)
	}
	return nil
}

// HealthURL renders a health URL template for host: {{.Host}} is the host
// without its port.
func HealthURL(tmpl, host string) (string, error) {
	tp, err := template.New("url").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", fmt.Errorf("health url template: %w", err)
	}
	var b strings.Builder
	if err := tp.Execute(&b, struct{ Host string }{hostname(host)}); err != nil {
		return "", fmt.Errorf("health url template: %w", err)
	}
	return b.String(), nil
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	return u.Redacted()
}
