package webhook

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestBodyTooLarge(t *testing.T) {
	opts := DefaultOptions()
	opts.Secret = secret
	opts.MaxBodyBytes = 4 << 10
	srv, rec, _ := server(t, opts)
	big := []byte(`{"ref":"refs/heads/main","pad":"` + strings.Repeat("x", 8<<10) + `"}`)

	// Announced by Content-Length, and streamed without one (chunked): both
	// are refused before anything is verified or triggered.
	for _, chunked := range []bool{false, true} {
		var body io.Reader = bytes.NewReader(big)
		if chunked {
			body = io.MultiReader(bytes.NewReader(big)) // hides the length
		}
		req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/hooks/github", body)
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", SignatureHeader(secret, big))
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("chunked=%v: status %d, want 413", chunked, resp.StatusCode)
		}
	}
	// GitLab's token is checked first: a wrong token is 401 whatever the size.
	req, _ := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/hooks/gitlab", io.MultiReader(bytes.NewReader(big)))
	req.Header.Set("X-Gitlab-Event", "Push Hook")
	req.Header.Set("X-Gitlab-Token", "wrong")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("gitlab wrong token, big body: %d, want 401", resp.StatusCode)
	}
	if got := rec.take(); len(got) != 0 {
		t.Errorf("triggered %+v", got)
	}
}

func TestPerProviderSecrets(t *testing.T) {
	ghSecret := []byte("github-only")
	opts := DefaultOptions()
	opts.Secrets = map[string][]byte{GitHub: ghSecret, Generic: []byte("generic-only")}
	srv, rec, _ := server(t, opts)
	body := fixture(t, "github-push.json")

	tests := []hookCase{
		{name: "github own secret", path: "/hooks/github", body: body, want: 202,
			header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": SignatureHeader(ghSecret, body)}},
		{name: "github with generic's secret", path: "/hooks/github", body: body, want: 401,
			header: map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": SignatureHeader([]byte("generic-only"), body)}},
		{name: "generic with github's secret", path: "/hooks/generic", want: 401,
			header: map[string]string{"Authorization": "Bearer github-only"}},
		// No secret for gitlab or gitea, none shared: disabled, not open.
		{name: "gitlab disabled", path: "/hooks/gitlab", body: body, want: 404,
			header: map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": ""}},
		{name: "gitea disabled", path: "/hooks/gitea", body: body, want: 404,
			header: map[string]string{"X-Gitea-Event": "push"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if status, b := do(t, srv, tc); status != tc.want {
				t.Errorf("status %d, want %d (%s)", status, tc.want, b)
			}
			got := rec.take()
			if (tc.want == 202) != (len(got) == 1) {
				t.Errorf("pushes %+v for status %d", got, tc.want)
			}
		})
	}

	r := New(opts)
	for p, want := range map[string]bool{GitHub: true, Generic: true, GitLab: false, Gitea: false, "svn": false} {
		if r.Enabled(p) != want {
			t.Errorf("Enabled(%s) = %v, want %v", p, !want, want)
		}
	}
}

func TestOptionsCopied(t *testing.T) {
	s := []byte("original")
	opts := DefaultOptions()
	opts.Secret = s
	srv, rec, _ := server(t, opts)
	copy(s, "CHANGED!") // the caller reusing its buffer must not change the secret
	tc := hookCase{path: "/hooks/generic", header: map[string]string{"Authorization": "Bearer original"}}
	if status, _ := do(t, srv, tc); status != 202 || len(rec.take()) != 1 {
		t.Fatalf("status %d: the receiver kept a reference to the caller's secret", status)
	}
}

func TestPushRef(t *testing.T) {
	tests := []struct {
		ref, branch, tag string
	}{
		{"refs/heads/main", "main", ""},
		{"refs/heads/feature/x", "feature/x", ""},
		{"refs/tags/v1.0.0", "", "v1.0.0"},
		{"main", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		p := Push{Ref: tt.ref}
		if p.Branch() != tt.branch || p.Tag() != tt.tag {
			t.Errorf("%q: branch %q tag %q, want %q %q", tt.ref, p.Branch(), p.Tag(), tt.branch, tt.tag)
		}
	}
}
