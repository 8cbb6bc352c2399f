package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Options configures a Receiver.
type Options struct {
	// Secret authenticates every provider that has no entry in Secrets.
	Secret []byte
	// Secrets holds per-provider secrets (GitHub, GitLab, Gitea, Generic).
	// A provider with neither is disabled: its endpoint answers 404.
	Secrets map[string][]byte
	// OnPush is called for every authenticated push, on the request's
	// goroutine: it must not block (hand the push to the reconcile loop,
	// e.g. a non-blocking send, and return). ctx ends with the request.
	OnPush func(ctx context.Context, p Push)
	// MaxBodyBytes caps a request body; larger ones get 413.
	MaxBodyBytes int64
	// MaxInFlight caps the requests being served at once, checked before
	// a body is read: more get 503 with Retry-After at once, so slow
	// senders cannot hold every connection.
	MaxInFlight int
	// BodyTimeout bounds reading one request's body; a slower sender gets
	// 408 and its connection closed.
	BodyTimeout time.Duration
	// Logger receives one line per request; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultOptions returns options with a 1 MiB body cap, 32 requests in
// flight, 10 seconds to send a body, and no secret.
func DefaultOptions() Options {
	return Options{MaxBodyBytes: 1 << 20, MaxInFlight: 32, BodyTimeout: 10 * time.Second}
}

// withDefaults returns o with every zero field set from DefaultOptions.
func (o Options) withDefaults() Options {
	def := DefaultOptions()
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = def.MaxBodyBytes
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = def.MaxInFlight
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = def.BodyTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Receiver serves POST /hooks/{github,gitlab,gitea,generic}.
type Receiver struct {
	opts     Options
	log      *slog.Logger
	inFlight chan struct{} // one token per request being served
}

var _ http.Handler = (*Receiver)(nil)

// New returns a Receiver. Options are copied; a zero MaxBodyBytes takes the
// default.
func New(opts Options) *Receiver {
	opts = opts.withDefaults()
	secrets := make(map[string][]byte, len(opts.Secrets))
	for k, v := range opts.Secrets {
		secrets[k] = append([]byte(nil), v...)
	}
	opts.Secrets = secrets
	opts.Secret = append([]byte(nil), opts.Secret...)
	return &Receiver{opts: opts, log: opts.Logger.With("component", "webhook"), inFlight: make(chan struct{}, opts.MaxInFlight)}
}

// Register mounts the receiver at /hooks/ on mux.
func (rc *Receiver) Register(mux *http.ServeMux) { mux.Handle("/hooks/", rc) }

// Enabled reports whether provider has a secret and so accepts hooks.
func (rc *Receiver) Enabled(provider string) bool {
	_, ok := providers[provider]
	return ok && len(rc.secret(provider)) > 0
}

func (rc *Receiver) secret(provider string) []byte {
	if s := rc.opts.Secrets[provider]; len(s) > 0 {
		return s
	}
	return rc.opts.Secret
}

// ServeHTTP implements http.Handler.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/hooks/")
	p, known := providers[name]
	if !ok || !known {
		http.NotFound(w, r)
		return
	}
	secret := rc.secret(name)
	if len(secret) == 0 {
		http.Error(w, "webhook "+name+" is not enabled", http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: use POST", http.StatusMethodNotAllowed)
		return
	}
	select {
	case rc.inFlight <- struct{}{}:
		defer func() { <-rc.inFlight }()
	default:
		rc.log.Warn("webhook refused", "provider", name, "remote", r.RemoteAddr, "reason", "too many requests in flight", "limit", rc.opts.MaxInFlight)
		w.Header().Set("Retry-After", "5")
		w.Header().Set("Connection", "close")
		http.Error(w, "too many webhook requests in flight", http.StatusServiceUnavailable)
		return
	}
	// The body must arrive within BodyTimeout, however slowly it trickles.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(rc.opts.BodyTimeout))
	log := rc.log.With("provider", name, "remote", r.RemoteAddr)
	if id := r.Header.Get(p.delivery); p.delivery != "" && id != "" {
		log = log.With("delivery", id)
	}
	if r.ContentLength > rc.opts.MaxBodyBytes {
		rc.tooLarge(w, log)
		return
	}
	if p.tokenAuth {
		if err := p.verify(r, secret, nil); err != nil {
			rc.refuse(w, log, err)
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rc.opts.MaxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			rc.tooLarge(w, log)
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			log.Warn("webhook refused", "reason", "body not sent in time", "limit", rc.opts.BodyTimeout)
			w.Header().Set("Connection", "close")
			http.Error(w, "request body not sent in time", http.StatusRequestTimeout)
			return
		}
		log.Warn("webhook body unreadable", "err", err)
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	if !p.tokenAuth {
		if err := p.verify(r, secret, body); err != nil {
			rc.refuse(w, log, err)
			return
		}
	}
	kind, event := p.event(r)
	log = log.With("event", event)
	switch kind {
	case eventPing:
		log.Info("webhook ping")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, "pong\n")
		return
	case eventIgnore:
		log.Info("webhook event ignored")
		w.WriteHeader(http.StatusOK)
		_, _ = fmt.Fprintf(w, "ignored event %q\n", event)
		return
	}
	payload, err := formPayload(r, body)
	if err != nil {
		log.Warn("webhook payload refused", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	push, err := p.parse(payload)
	if err != nil {
		log.Warn("webhook payload refused", "err", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	push.Provider = name
	if p.delivery != "" {
		push.Delivery = r.Header.Get(p.delivery)
	}
	log.Info("webhook push", "repo", push.Repo, "ref", push.Ref, "revision", push.After)
	if rc.opts.OnPush != nil {
		rc.opts.OnPush(r.Context(), push)
	}
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, "accepted\n")
}

// formPayload returns the JSON of a push: the body, or its payload field
// when the host was set to send application/x-www-form-urlencoded (GitHub
// and Gitea can). The signature covers the raw body either way.
func formPayload(r *http.Request, body []byte) ([]byte, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/x-www-form-urlencoded" {
		return body, nil
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("decode form body: %w", err)
	}
	if !v.Has("payload") {
		return nil, errors.New("form body has no payload field")
	}
	return []byte(v.Get("payload")), nil
}

func (rc *Receiver) refuse(w http.ResponseWriter, log *slog.Logger, err error) {
	// err is one of the sentinels: it names no secret and no header value.
	log.Warn("webhook refused", "reason", err)
	http.Error(w, "unauthorized: "+err.Error(), http.StatusUnauthorized)
}

func (rc *Receiver) tooLarge(w http.ResponseWriter, log *slog.Logger) {
	log.Warn("webhook refused", "reason", "body too large", "limit", rc.opts.MaxBodyBytes)
	http.Error(w, fmt.Sprintf("body larger than %d bytes", rc.opts.MaxBodyBytes), http.StatusRequestEntityTooLarge)
}
