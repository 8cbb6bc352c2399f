package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// WebhookOptions configures a Webhook.
type WebhookOptions struct {
	// URL receives a POST of every event as JSON.
	URL string
	// Secret, when set, signs the body: X-Steward-Signature is "sha256="
	// and the hex HMAC-SHA256 of the body (what sources/webhook checks).
	Secret []byte
	// Header is added to every request (e.g. an Authorization header).
	Header http.Header
	// Client sends the requests; nil means http.DefaultClient.
	Client *http.Client
}

// DefaultWebhookOptions returns options without URL or secret.
func DefaultWebhookOptions() WebhookOptions { return WebhookOptions{} }

// Webhook posts events as JSON to a URL.
type Webhook struct{ opts WebhookOptions }

var _ Notifier = (*Webhook)(nil)

// NewWebhook returns a Webhook notifier.
func NewWebhook(opts WebhookOptions) (*Webhook, error) {
	if opts.URL == "" {
		return nil, errors.New("webhook notifier: url is required")
	}
	if err := checkURL(opts.URL); err != nil {
		return nil, err
	}
	return &Webhook{opts: opts}, nil
}

// Name implements the named ability.
func (w *Webhook) Name() string { return "webhook" }

// WebhookPayload is the JSON a Webhook posts.
type WebhookPayload struct {
	Kind     Kind                     `json:"kind"`
	Unit     string                   `json:"unit"`
	Target   string                   `json:"target,omitempty"`
	Revision string                   `json:"revision,omitempty"`
	Summary  string                   `json:"summary"`
	Error    string                   `json:"error,omitempty"`
	Time     time.Time                `json:"time"`
	Counts   map[reconcile.Action]int `json:"counts,omitempty"`
	Changes  []WebhookChange          `json:"changes,omitempty"`
}

// WebhookChange is one changed object; unchanged objects are only counted,
// and diffs are left out.
type WebhookChange struct {
	Object  string           `json:"object"`
	Host    string           `json:"host,omitempty"`
	Action  reconcile.Action `json:"action"`
	Message string           `json:"message,omitempty"`
}

// Payload returns the JSON body posted for ev.
func (ev Event) Payload() WebhookPayload {
	p := WebhookPayload{
		Kind: ev.Kind, Unit: ev.Unit, Target: ev.Target, Revision: ev.Revision,
		Summary: ev.Summary(0), Error: ev.Error, Time: ev.Time,
	}
	if ev.Result != nil {
		p.Counts = map[reconcile.Action]int{}
		for _, c := range ev.Result.Changes {
			p.Counts[c.Action]++
			if c.Action != reconcile.Unchanged {
				p.Changes = append(p.Changes, WebhookChange{
					Object: c.Object.String(), Host: c.Host, Action: c.Action, Message: c.Message,
				})
			}
		}
	}
	return p
}

// Notify implements Notifier.
func (w *Webhook) Notify(ctx context.Context, ev Event) error {
	body, err := json.Marshal(ev.Payload())
	if err != nil {
		return err
	}
	h := w.opts.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("X-Steward-Event", string(ev.Kind))
	if len(w.opts.Secret) > 0 {
		m := hmac.New(sha256.New, w.opts.Secret)
		m.Write(body)
		h.Set("X-Steward-Signature", "sha256="+hex.EncodeToString(m.Sum(nil)))
	}
	// Header values are credentials too ("Bearer TOKEN"): mask them, and
	// their last word, in anything the remote answers.
	secrets := []string{string(w.opts.Secret)}
	for _, vs := range w.opts.Header {
		for _, v := range vs {
			secrets = append(secrets, v)
			if f := strings.Fields(v); len(f) > 1 {
				secrets = append(secrets, f[len(f)-1])
			}
		}
	}
	return postRaw(ctx, w.opts.Client, w.Name(), w.opts.URL, h, body, secrets...)
}
