package webhook

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	secret      = []byte("hook-s3cret-value")
	wrongSecret = []byte("not-the-secret")
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// recorder collects the pushes a receiver triggered.
type recorder struct {
	mu     sync.Mutex
	pushes []Push
}

func (r *recorder) onPush(_ context.Context, p Push) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pushes = append(r.pushes, p)
}

func (r *recorder) take() []Push {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.pushes
	r.pushes = nil
	return p
}

// server starts a receiver on a loopback HTTP server and captures its logs.
func server(t *testing.T, opts Options) (*httptest.Server, *recorder, *bytes.Buffer) {
	t.Helper()
	rec := &recorder{}
	var logs bytes.Buffer
	opts.OnPush = rec.onPush
	opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mux := http.NewServeMux()
	New(opts).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, rec, &logs
}

type hookCase struct {
	name     string
	method   string // POST when empty
	path     string
	header   map[string]string
	body     []byte
	want     int
	wantPush *Push // nil: nothing may be triggered
}

func githubSig(s, body []byte) string { return SignatureHeader(s, body) }
func giteaSig(s, body []byte) string  { return hex.EncodeToString(Sign(s, body)) }

func TestReceiver(t *testing.T) {
	ghPush := fixture(t, "github-push.json")
	ghPing := fixture(t, "github-ping.json")
	ghDelete := fixture(t, "github-delete.json")
	glPush := fixture(t, "gitlab-push.json")
	glTag := fixture(t, "gitlab-tag-push.json")
	glMR := fixture(t, "gitlab-merge-request.json")
	gtPush := fixture(t, "gitea-push.json")
	genPush := fixture(t, "generic-push.json")
	truncated := fixture(t, "truncated.json")
	form := []byte(url.Values{"payload": {string(ghPush)}}.Encode())

	ghWant := &Push{Provider: GitHub, Repo: "https://github.com/acme/estate.git", Ref: "refs/heads/main",
		Before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246", After: "76ae82c7b1a177c8d03f9e96e0adf2466113728f",
		Delivery: "72d3162e-cc78-11e3-81ab-4c9367dc0958"}

	cases := []hookCase{
		// GitHub
		{name: "github push", path: "/hooks/github", body: ghPush, want: 202, wantPush: ghWant,
			header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": githubSig(secret, ghPush),
				"X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}},
		{name: "github push form-encoded", path: "/hooks/github", body: form, want: 202,
			wantPush: &Push{Provider: GitHub, Repo: ghWant.Repo, Ref: ghWant.Ref, Before: ghWant.Before, After: ghWant.After},
			header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": githubSig(secret, form),
				"Content-Type": "application/x-www-form-urlencoded"}},
		{name: "github ping", path: "/hooks/github", body: ghPing, want: 200,
			header: map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": githubSig(secret, ghPing)}},
		{name: "github ping with bad signature", path: "/hooks/github", body: ghPing, want: 401,
			header: map[string]string{"X-GitHub-Event": "ping", "X-Hub-Signature-256": githubSig(wrongSecret, ghPing)}},
		{name: "github branch deleted", path: "/hooks/github", body: ghDelete, want: 202,
			wantPush: &Push{Provider: GitHub, Repo: "https://github.com/acme/estate.git", Ref: "refs/heads/feature",
				Before: "76ae82c7b1a177c8d03f9e96e0adf2466113728f", After: "0000000000000000000000000000000000000000", Deleted: true},
			header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": githubSig(secret, ghDelete)}},
		{name: "github other event", path: "/hooks/github", body: ghPing, want: 200,
			header: map[string]string{"X-GitHub-Event": "issues", "X-Hub-Signature-256": githubSig(secret, ghPing)}},
		{name: "github wrong secret", path: "/hooks/github", body: ghPush, want: 401,
			header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": githubSig(wrongSecret, ghPush)}},
		{name: "github missing signature", path: "/hooks/github", body: ghPush, want: 401,
			header: map[string]string{"X-GitHub-Event": "push"}},
		{name: "github signature of another body", path: "/hooks/github", body: ghPush, want: 401,
			header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": githubSig(secret, ghDelete)}},
		{name: "github signature without prefix", path: "/hooks/github", body: ghPush, want: 401,
			header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": giteaSig(secret, ghPush)}},
		{name: "github signature not hex", path: "/hooks/github", body: ghPush, want: 401,
			header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=zz" + giteaSig(secret, ghPush)[2:]}},
		{name: "github legacy sha1 header only", path: "/hooks/github", body: ghPush, want: 401,
			header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature": "sha1=0123456789abcdef0123456789abcdef01234567"}},
		{name: "github truncated payload", path: "/hooks/github", body: truncated, want: 400,
			header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": githubSig(secret, truncated)}},
		{name: "github form without payload", path: "/hooks/github", body: []byte("x=1"), want: 400,
			header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": githubSig(secret, []byte("x=1")),
				"Content-Type": "application/x-www-form-urlencoded"}},
		{name: "github GET", method: "GET", path: "/hooks/github", want: 405},

		// GitLab
		{name: "gitlab push", path: "/hooks/gitlab", body: glPush, want: 202,
			wantPush: &Push{Provider: GitLab, Repo: "https://gitlab.example.com/ops/estate.git", Ref: "refs/heads/main",
				Before: "95790bf891e76fee5e1747ab589903a6a1f80f22", After: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
				Delivery: "f8a2c5e0-1c2b-4e0a-9e5a-1b2c3d4e5f60"},
			header: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": string(secret),
				"X-Gitlab-Event-UUID": "f8a2c5e0-1c2b-4e0a-9e5a-1b2c3d4e5f60"}},
		{name: "gitlab tag push", path: "/hooks/gitlab", body: glTag, want: 202,
			wantPush: &Push{Provider: GitLab, Repo: "https://gitlab.example.com/ops/estate.git", Ref: "refs/tags/v1.0.0",
				Before: "0000000000000000000000000000000000000000", After: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7"},
			header: map[string]string{"X-Gitlab-Event": "Tag Push Hook", "X-Gitlab-Token": string(secret)}},
		{name: "gitlab wrong token", path: "/hooks/gitlab", body: glPush, want: 401,
			header: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": string(wrongSecret)}},
		{name: "gitlab token prefix of the secret", path: "/hooks/gitlab", body: glPush, want: 401,
			header: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": string(secret[:5])}},
		{name: "gitlab missing token", path: "/hooks/gitlab", body: glPush, want: 401,
			header: map[string]string{"X-Gitlab-Event": "Push Hook"}},
		{name: "gitlab merge request ignored", path: "/hooks/gitlab", body: glMR, want: 200,
			header: map[string]string{"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Token": string(secret)}},
		{name: "gitlab push header with other payload", path: "/hooks/gitlab", body: glMR, want: 400,
			header: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": string(secret)}},
		{name: "gitlab PUT", method: "PUT", path: "/hooks/gitlab", body: glPush, want: 405,
			header: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": string(secret)}},

		// Gitea
		{name: "gitea push", path: "/hooks/gitea", body: gtPush, want: 202,
			wantPush: &Push{Provider: Gitea, Repo: "http://gitea.example.com/acme/estate.git", Ref: "refs/heads/main",
				Before: "28e1879d029cb852e4844d9c718537df08844e03", After: "bffeb74224043ba2feb48d137756c8a9331c449a",
				Delivery: "b1f5a9d4-8f0c-4a3e-9a47-3c2e1d0f9e8b"},
			header: map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": giteaSig(secret, gtPush),
				"X-Gitea-Delivery": "b1f5a9d4-8f0c-4a3e-9a47-3c2e1d0f9e8b"}},
		{name: "gitea wrong secret", path: "/hooks/gitea", body: gtPush, want: 401,
			header: map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": giteaSig(wrongSecret, gtPush)}},
		{name: "gitea github-style signature", path: "/hooks/gitea", body: gtPush, want: 401,
			header: map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": githubSig(secret, gtPush)}},
		{name: "gitea missing signature", path: "/hooks/gitea", body: gtPush, want: 401,
			header: map[string]string{"X-Gitea-Event": "push"}},
		{name: "gitea create event ignored", path: "/hooks/gitea", body: gtPush, want: 200,
			header: map[string]string{"X-Gitea-Event": "create", "X-Gitea-Signature": giteaSig(secret, gtPush)}},

		// Generic
		{name: "generic bearer, empty body", path: "/hooks/generic", want: 202, wantPush: &Push{Provider: Generic},
			header: map[string]string{"Authorization": "Bearer " + string(secret)}},
		{name: "generic bearer, lower-case scheme", path: "/hooks/generic", body: genPush, want: 202,
			wantPush: &Push{Provider: Generic, Repo: "https://git.example.com/estate.git", Ref: "refs/heads/main",
				After: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"},
			header: map[string]string{"Authorization": "bearer " + string(secret)}},
		{name: "generic signature", path: "/hooks/generic", body: genPush, want: 202,
			wantPush: &Push{Provider: Generic, Repo: "https://git.example.com/estate.git", Ref: "refs/heads/main",
				After: "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c"},
			header: map[string]string{"X-Steward-Signature": githubSig(secret, genPush)}},
		{name: "generic wrong bearer", path: "/hooks/generic", want: 401,
			header: map[string]string{"Authorization": "Bearer " + string(wrongSecret)}},
		{name: "generic basic auth", path: "/hooks/generic", want: 401,
			header: map[string]string{"Authorization": "Basic " + string(secret)}},
		{name: "generic wrong signature beats right bearer", path: "/hooks/generic", body: genPush, want: 401,
			header: map[string]string{"Authorization": "Bearer " + string(secret), "X-Steward-Signature": githubSig(wrongSecret, genPush)}},
		{name: "generic nothing", path: "/hooks/generic", body: genPush, want: 401},
		{name: "generic unknown field", path: "/hooks/generic", body: fixture(t, "generic-unknown-field.json"), want: 400,
			header: map[string]string{"Authorization": "Bearer " + string(secret)}},

		// Routing
		{name: "unknown provider", path: "/hooks/bitbucket", body: ghPush, want: 404},
		{name: "hooks root", path: "/hooks/", body: ghPush, want: 404},
	}

	opts := DefaultOptions()
	opts.Secret = secret
	srv, rec, logs := server(t, opts)

	var bodies strings.Builder
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := do(t, srv, tc)
			bodies.WriteString(body)
			if status != tc.want {
				t.Errorf("status %d, want %d (%s)", status, tc.want, strings.TrimSpace(body))
			}
			got := rec.take()
			switch {
			case tc.wantPush == nil && len(got) > 0:
				t.Errorf("triggered %+v, want nothing", got)
			case tc.wantPush != nil && len(got) != 1:
				t.Errorf("triggered %d pushes, want 1", len(got))
			case tc.wantPush != nil && got[0] != *tc.wantPush:
				t.Errorf("push\n got %+v\nwant %+v", got[0], *tc.wantPush)
			}
		})
	}
	// Neither the secret nor a signature computed with it reaches the logs
	// or a response.
	for _, leak := range []string{string(secret), giteaSig(secret, ghPush), giteaSig(secret, glPush)} {
		if strings.Contains(logs.String(), leak) || strings.Contains(bodies.String(), leak) {
			t.Errorf("secret material %q leaked into logs or responses", leak)
		}
	}
	if !strings.Contains(logs.String(), "reason=\"signature does not match\"") {
		t.Errorf("refusals not logged with their reason:\n%s", logs.String())
	}
}

func do(t *testing.T, srv *httptest.Server, tc hookCase) (int, string) {
	t.Helper()
	method := tc.method
	if method == "" {
		method = http.MethodPost
	}
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL+tc.path, bytes.NewReader(tc.body))
	if err != nil {
		t.Fatal(err)
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range tc.header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == 405 && resp.Header.Get("Allow") != "POST" {
		t.Errorf("405 without Allow: POST")
	}
	return resp.StatusCode, string(b)
}
