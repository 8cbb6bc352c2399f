package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

const (
	sha   = "3f9a1c2b7e6d5f4a3b2c1d0e9f8a7b6c5d4e3f2a"
	token = "ghp_T0k3nThatMustNeverLeak"
)

// captured is one request a test server received.
type captured struct {
	Method, URI string
	Header      http.Header
	Body        []byte
}

// apiServer is a loopback HTTP server recording requests and answering
// status with body.
type apiServer struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []captured
	status int
	body   string
}

func newAPIServer(t *testing.T, status int, body string) *apiServer {
	s := &apiServer{status: status, body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, captured{r.Method, r.RequestURI, r.Header.Clone(), b})
		s.mu.Unlock()
		w.WriteHeader(s.status)
		_, _ = io.WriteString(w, s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *apiServer) requests() []captured {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]captured(nil), s.reqs...)
}

func sampleEvent(kind Kind) Event {
	ev := Event{Kind: kind, Unit: "web-hosts", Target: "web", Revision: sha,
		Time: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)}
	ev.Result = &reconcile.ChangeSet{Unit: "web-hosts", Target: "web", Revision: sha, Changes: []reconcile.Change{
		{Host: "web1:22", Object: reconcile.ObjectID{Kind: "File", Name: "motd"}, Action: reconcile.Configured, Diff: "-a\n+b\n"},
		{Host: "web1:22", Object: reconcile.ObjectID{Kind: "Package", Name: "nginx"}, Action: reconcile.Unchanged},
	}}
	if kind == Failed {
		ev.Error = "apply web2:22 Unit/app.service: exit status 1\nmore detail"
		ev.Result.Changes = append(ev.Result.Changes, reconcile.Change{Host: "web2:22",
			Object: reconcile.ObjectID{Kind: "Unit", Name: "app.service"}, Action: reconcile.Failed, Message: "exit status 1"})
	}
	return ev
}

func TestCommitStatusNotifiers(t *testing.T) {
	tests := []struct {
		name       string
		make       func(base string) (Notifier, error)
		kind       Kind
		wantURI    string
		wantHeader map[string]string
		wantBody   map[string]any
	}{
		{
			name: "github success",
			make: func(base string) (Notifier, error) {
				o := DefaultCommitStatusOptions()
				o.BaseURL, o.Repo, o.Token, o.TargetURL = base, "acme/estate", token, "https://steward.example.com/"
				return NewGitHub(o)
			},
			kind:    Applied,
			wantURI: "/repos/acme/estate/statuses/" + sha,
			wantHeader: map[string]string{"Authorization": "Bearer " + token, "Accept": "application/vnd.github+json",
				"X-Github-Api-Version": "2022-11-28", "Content-Type": "application/json"},
			wantBody: map[string]any{"state": "success", "context": "steward/web-hosts",
				"description": "applied 3f9a1c2: 1 configured", "target_url": "https://steward.example.com/"},
		},
		{
			name: "github failure",
			make: func(base string) (Notifier, error) {
				o := DefaultCommitStatusOptions()
				o.BaseURL, o.Repo, o.Token = base+"/", "acme/estate", token
				return NewGitHub(o)
			},
			kind:       Failed,
			wantURI:    "/repos/acme/estate/statuses/" + sha,
			wantHeader: map[string]string{"Authorization": "Bearer " + token},
			wantBody: map[string]any{"state": "failure", "context": "steward/web-hosts",
				"description": "failed 3f9a1c2: apply web2:22 Unit/app.service: exit status 1"},
		},
		{
			name: "gitea drift corrected",
			make: func(base string) (Notifier, error) {
				o := DefaultCommitStatusOptions()
				o.BaseURL, o.Repo, o.Token, o.Context = base, "acme/estate", token, "deploy"
				return NewGitea(o)
			},
			kind:       DriftCorrected,
			wantURI:    "/api/v1/repos/acme/estate/statuses/" + sha,
			wantHeader: map[string]string{"Authorization": "token " + token, "Content-Type": "application/json"},
			wantBody: map[string]any{"state": "success", "context": "deploy/web-hosts",
				"description": "drift-corrected 3f9a1c2: 1 configured"},
		},
		{
			name: "gitea given its API root",
			make: func(base string) (Notifier, error) {
				o := DefaultCommitStatusOptions()
				o.BaseURL, o.Repo, o.Token = base+"/api/v1/", "acme/estate", token
				return NewGitea(o)
			},
			kind:       Applied,
			wantURI:    "/api/v1/repos/acme/estate/statuses/" + sha,
			wantHeader: map[string]string{"Authorization": "token " + token},
			wantBody:   map[string]any{"state": "success", "context": "steward/web-hosts"},
		},
		{
			name: "gitlab failed, project path escaped",
			make: func(base string) (Notifier, error) {
				o := DefaultCommitStatusOptions()
				o.BaseURL, o.Repo, o.Token = base+"/api/v4", "ops/estate", token
				return NewGitLab(o)
			},
			kind:       Failed,
			wantURI:    "/api/v4/projects/ops%2Festate/statuses/" + sha,
			wantHeader: map[string]string{"Private-Token": token, "Content-Type": "application/json"},
			wantBody:   map[string]any{"state": "failed", "name": "steward/web-hosts"},
		},
		{
			name: "gitlab progressing, numeric id",
			make: func(base string) (Notifier, error) {
				o := DefaultCommitStatusOptions()
				o.BaseURL, o.Repo, o.Token = base, "15", token
				return NewGitLab(o)
			},
			kind:       Progressing,
			wantURI:    "/projects/15/statuses/" + sha,
			wantHeader: map[string]string{"Private-Token": token},
			wantBody:   map[string]any{"state": "running", "description": "progressing 3f9a1c2: 1 configured"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newAPIServer(t, http.StatusCreated, `{"id":1}`)
			n, err := tt.make(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Notify(t.Context(), sampleEvent(tt.kind)); err != nil {
				t.Fatalf("notify: %v", err)
			}
			reqs := srv.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.Method != http.MethodPost || r.URI != tt.wantURI {
				t.Errorf("request %s %s, want POST %s", r.Method, r.URI, tt.wantURI)
			}
			for k, v := range tt.wantHeader {
				if got := r.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			var body map[string]any
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatalf("body %s: %v", r.Body, err)
			}
			for k, v := range tt.wantBody {
				if body[k] != v {
					t.Errorf("body %s = %v, want %v", k, body[k], v)
				}
			}
			if strings.Contains(string(r.Body), token) {
				t.Error("token in the request body")
			}
		})
	}
}

func TestCommitStatusSkipsWithoutRevision(t *testing.T) {
	srv := newAPIServer(t, 201, "")
	o := DefaultCommitStatusOptions()
	o.BaseURL, o.Repo, o.Token = srv.URL, "acme/estate", token
	g, err := NewGitHub(o)
	if err != nil {
		t.Fatal(err)
	}
	ev := sampleEvent(Failed)
	ev.Revision = "" // the source was unreachable: no commit to mark
	if err := g.Notify(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("%d requests for an event without a revision", n)
	}
}

func TestWebhookNotifier(t *testing.T) {
	srv := newAPIServer(t, http.StatusNoContent, "")
	secret := []byte("sign-me")
	o := DefaultWebhookOptions()
	o.URL, o.Secret = srv.URL+"/events", secret
	o.Header = http.Header{"Authorization": {"Bearer " + token}}
	w, err := NewWebhook(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Notify(t.Context(), sampleEvent(Failed)); err != nil {
		t.Fatal(err)
	}
	r := srv.requests()[0]
	if r.Method != "POST" || r.URI != "/events" {
		t.Errorf("request %s %s", r.Method, r.URI)
	}
	m := hmac.New(sha256.New, secret)
	m.Write(r.Body)
	if want := "sha256=" + hex.EncodeToString(m.Sum(nil)); r.Header.Get("X-Steward-Signature") != want {
		t.Errorf("signature %q, want %q", r.Header.Get("X-Steward-Signature"), want)
	}
	if r.Header.Get("Authorization") != "Bearer "+token || r.Header.Get("X-Steward-Event") != "failed" {
		t.Errorf("headers %v", r.Header)
	}
	var p WebhookPayload
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Kind != Failed || p.Unit != "web-hosts" || p.Revision != sha || !strings.HasPrefix(p.Error, "apply web2:22") {
		t.Errorf("payload %+v", p)
	}
	if p.Counts[reconcile.Configured] != 1 || p.Counts[reconcile.Unchanged] != 1 || p.Counts[reconcile.Failed] != 1 {
		t.Errorf("counts %v", p.Counts)
	}
	if len(p.Changes) != 2 || p.Changes[0].Object != "File/motd" || p.Changes[1].Message != "exit status 1" {
		t.Errorf("changes %+v (unchanged objects must be left out)", p.Changes)
	}
	if strings.Contains(string(r.Body), "-a\n+b") {
		t.Error("diff sent in the webhook payload")
	}
	// Unsigned without a secret.
	o.Secret = nil
	w, _ = NewWebhook(o)
	if err := w.Notify(t.Context(), sampleEvent(Applied)); err != nil {
		t.Fatal(err)
	}
	if sig := srv.requests()[1].Header.Get("X-Steward-Signature"); sig != "" {
		t.Errorf("signature %q without a secret", sig)
	}
}

// TestErrorsHideTokens: whatever goes wrong, the error names the notifier
// and the status, never the token — even when the remote echoes it.
func TestErrorsHideTokens(t *testing.T) {
	echo := newAPIServer(t, http.StatusUnauthorized, `{"message":"Bad credentials: `+token+`"}`)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	mk := func(base string) []Notifier {
		o := DefaultCommitStatusOptions()
		o.BaseURL, o.Repo, o.Token = base, "acme/estate", token
		gh, _ := NewGitHub(o)
		gt, _ := NewGitea(o)
		gl, _ := NewGitLab(o)
		wo := DefaultWebhookOptions()
		wo.URL, wo.Header = base, http.Header{"Authorization": {"Bearer " + token}}
		wh, _ := NewWebhook(wo)
		return []Notifier{gh, gt, gl, wh}
	}
	for _, base := range []string{echo.URL, downURL} {
		for _, n := range mk(base) {
			err := n.Notify(t.Context(), sampleEvent(Applied))
			if err == nil {
				t.Fatalf("%s at %s: no error", n.(named).Name(), base)
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("%s: token in error: %v", n.(named).Name(), err)
			}
			if !strings.HasPrefix(err.Error(), n.(named).Name()+":") {
				t.Errorf("error %q does not name its notifier", err)
			}
			if base == echo.URL {
				var he *HTTPError
				if !errors.As(err, &he) || he.Status != 401 || !strings.Contains(he.Body, "Bad credentials: ***") {
					t.Errorf("%s: error %v, want an HTTPError 401 with the token masked", n.(named).Name(), err)
				}
			}
		}
	}
}

func TestConstructorsValidate(t *testing.T) {
	full := CommitStatusOptions{BaseURL: "https://api.example.com", Repo: "acme/estate", Token: "t"}
	with := func(f func(*CommitStatusOptions)) CommitStatusOptions { o := full; f(&o); return o }
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"github ok", second(NewGitHub(full)), ""},
		{"github default base", second(NewGitHub(with(func(o *CommitStatusOptions) { o.BaseURL = "" }))), ""},
		{"github no token", second(NewGitHub(with(func(o *CommitStatusOptions) { o.Token = "" }))), "github notifier: token required"},
		{"github repo not owner/name", second(NewGitHub(with(func(o *CommitStatusOptions) { o.Repo = "estate" }))), `repo "estate": want owner/name`},
		{"gitea no base", second(NewGitea(with(func(o *CommitStatusOptions) { o.BaseURL = "" }))), "gitea notifier: baseURL required"},
		{"gitea base not a URL", second(NewGitea(with(func(o *CommitStatusOptions) { o.BaseURL = "gitea.local" }))), `url "gitea.local"`},
		{"gitlab nested group ok", second(NewGitLab(with(func(o *CommitStatusOptions) { o.Repo = "a/b/c" }))), ""},
		{"gitlab no repo, no token", second(NewGitLab(with(func(o *CommitStatusOptions) { o.Repo, o.Token = "", "" }))), "gitlab notifier: repo, token required"},
		{"credentials in base URL", second(NewGitHub(with(func(o *CommitStatusOptions) { o.BaseURL = "https://u:pw@h" }))), "must not hold credentials"},
		{"webhook no url", second(NewWebhook(WebhookOptions{})), "webhook notifier: url is required"},
		{"webhook ftp", second(NewWebhook(WebhookOptions{URL: "ftp://h/x"})), `url "ftp://h/x"`},
	}
	for _, tt := range tests {
		switch {
		case tt.want == "" && tt.err != nil:
			t.Errorf("%s: %v", tt.name, tt.err)
		case tt.want != "" && (tt.err == nil || !strings.Contains(tt.err.Error(), tt.want)):
			t.Errorf("%s: error %v, want it to contain %q", tt.name, tt.err, tt.want)
		}
		if tt.err != nil && strings.Contains(tt.err.Error(), "pw") {
			t.Errorf("%s: credentials in error %v", tt.name, tt.err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestSummary(t *testing.T) {
	long := sampleEvent(Failed)
	long.Error = strings.Repeat("é", 300)
	tests := []struct {
		ev   Event
		n    int
		want string
	}{
		{sampleEvent(Applied), 0, "applied 3f9a1c2: 1 configured"},
		{sampleEvent(Failed), 0, "failed 3f9a1c2: apply web2:22 Unit/app.service: exit status 1"},
		{Event{Kind: Applied, Revision: "abc", Result: &reconcile.ChangeSet{}}, 0, "applied abc: no changes"},
		{Event{Kind: Failed, Error: "ls-remote: connection refused"}, 0, "failed: ls-remote: connection refused"},
		{long, 20, "failed 3f9a1c2: ééé…"},
	}
	for _, tt := range tests {
		if got := tt.ev.Summary(tt.n); got != tt.want {
			t.Errorf("Summary(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
