package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

// HTTPError is a delivery the remote end answered with a non-2xx status.
type HTTPError struct {
	Notifier string
	Status   int
	// Body is the start of the response, with any token masked.
	Body string
}

func (e *HTTPError) Error() string {
	s := fmt.Sprintf("%s: remote answered %d %s", e.Notifier, e.Status, http.StatusText(e.Status))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// post sends v as JSON to u with header; secrets are strings to mask from
// anything returned.
func post(ctx context.Context, client *http.Client, name, u string, header http.Header, v any, secrets ...string) error {
	body, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: encode: %w", name, err)
	}
	return postRaw(ctx, client, name, u, header, body, secrets...)
}

func postRaw(ctx context.Context, client *http.Client, name, u string, header http.Header, body []byte, secrets ...string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: %s", name, mask(err.Error(), secrets))
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "steward")
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		// A *url.Error names the URL, which holds no token: tokens travel
		// in headers. Unwrap it to keep the message short.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			return fmt.Errorf("%s: post %s: %w", name, reconcile.Redact(u), ue.Err)
		}
		return fmt.Errorf("%s: post: %w", name, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	if resp.StatusCode/100 != 2 {
		return &HTTPError{Notifier: name, Status: resp.StatusCode, Body: mask(strings.TrimSpace(string(snippet)), secrets)}
	}
	return nil
}

// mask replaces every non-empty secret in s.
func mask(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "***")
		}
	}
	return s
}
