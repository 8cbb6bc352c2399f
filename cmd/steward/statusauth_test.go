package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunStatusToken runs the real daemon with each way of setting the
// status token and checks who may read the page and GET /api/status: the
// probes stay open, the token is taken as a bearer token or as a basic-auth
// password, and it never reaches the log.
func TestRunStatusToken(t *testing.T) {
	bin := buildSteward(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	must(t, os.WriteFile(tokenFile, []byte("fi-Xq7-file\n"), 0o600))
	type req struct {
		path, bearer, basic string
		want                int
	}
	tests := []struct {
		name  string
		env   []string
		flags []string
		reqs  []req
	}{
		{"no token: loopback clients", nil, nil, []req{
			{path: "/api/status", want: 200}, {path: "/", want: 200}, {path: "/healthz", want: 200},
		}},
		{"STEWARD_STATUS_TOKEN", []string{"STEWARD_STATUS_TOKEN=st-Xq7-status", "STEWARD_API_TOKEN=ap-Xq7-api"}, nil, []req{
			{path: "/api/status", want: 401},
			{path: "/", want: 401},
			{path: "/api/status", bearer: "ap-Xq7-api", want: 401},
			{path: "/api/status", bearer: "st-Xq7-status", want: 200},
			{path: "/", basic: "st-Xq7-status", want: 200},
			{path: "/", basic: "wrong", want: 401},
			{path: "/healthz", want: 200},
			{path: "/readyz", want: 200},
		}},
		{"the API token", []string{"STEWARD_API_TOKEN=ap-Xq7-api"}, nil, []req{
			{path: "/api/status", want: 401},
			{path: "/api/status", bearer: "ap-Xq7-api", want: 200},
			{path: "/?refresh=5", basic: "ap-Xq7-api", want: 200},
		}},
		{"--status-token-file wins", []string{"STEWARD_STATUS_TOKEN=st-Xq7-status"}, []string{"--status-token-file", tokenFile}, []req{
			{path: "/api/status", bearer: "st-Xq7-status", want: 401},
			{path: "/api/status", bearer: "fi-Xq7-file", want: 200},
			{path: "/", want: 401},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo, work := t.TempDir(), t.TempDir()
			initRepo(t, repo, fileFleet(2, 1))
			args := append([]string{"run", "-C", repo, "--poll-interval", "1h"}, tc.flags...)
			d := startDaemon(t, bin, work, tc.env, args...)
			for _, r := range tc.reqs {
				hr, _ := http.NewRequest(http.MethodGet, "http://"+d.addr+r.path, nil)
				if r.bearer != "" {
					hr.Header.Set("Authorization", "Bearer "+r.bearer)
				}
				if r.basic != "" {
					hr.SetBasicAuth("anyone", r.basic)
				}
				resp, err := http.DefaultClient.Do(hr)
				must(t, err)
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != r.want {
					t.Errorf("GET %s (bearer %q, basic %q): %d, want %d: %s", r.path, r.bearer, r.basic, resp.StatusCode, r.want, body)
				}
				if resp.StatusCode == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("GET %s: 401 without a basic-auth challenge", r.path)
				}
				if resp.StatusCode == 200 && r.path == "/api/status" && !strings.Contains(string(body), `"units"`) {
					t.Errorf("GET %s: not the status: %s", r.path, body)
				}
			}
			must(t, d.stop(t))
			for _, secret := range []string{"st-Xq7-status", "ap-Xq7-api", "fi-Xq7-file"} {
				if strings.Contains(d.log.String(), secret) {
					t.Errorf("the log holds the token %q:\n%s", secret, d.log)
				}
			}
		})
	}
}

// TestRunStatusTokenFileErrors: a token file that cannot be read or holds
// no token stops steward before it serves anything, naming the file and
// never its content.
func TestRunStatusTokenFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty, twoLines := filepath.Join(dir, "empty"), filepath.Join(dir, "two")
	must(t, os.WriteFile(empty, []byte(" \n"), 0o600))
	must(t, os.WriteFile(twoLines, []byte("secret-one\nsecret-two\n"), 0o600))
	tests := []struct{ file, want string }{
		{filepath.Join(dir, "missing"), "missing: no such file"},
		{empty, "want one line holding the token"},
		{twoLines, "want one line holding the token"},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			repo := t.TempDir()
			initRepo(t, repo, fileFleet(1, 1))
			code, _, stderr := run(t, "run", "-C", repo, "--listen", "127.0.0.1:0", "--status-token-file", tc.file)
			if code != 2 || !strings.Contains(stderr, tc.file) || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 naming %s and %q", code, stderr, tc.file, tc.want)
			}
			if strings.Contains(stderr, "secret-") {
				t.Errorf("the error shows the file's content: %s", stderr)
			}
		})
	}
}

// TestStatusAuthRemoteClients covers what a loopback-only test daemon
// cannot: a client from another address is refused without a token unless
// --status-public, and admitted with the token.
func TestStatusAuthRemoteClients(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	tests := []struct {
		name, token, bearer, path string
		public                    bool
		want                      int
	}{
		{"no token", "", "", "/api/status", false, http.StatusForbidden},
		{"no token, page", "", "", "/", false, http.StatusForbidden},
		{"no token, probe", "", "", "/readyz", false, http.StatusOK},
		{"no token, public", "", "", "/api/status", true, http.StatusOK},
		{"token, none sent", "t", "", "/api/status", true, http.StatusUnauthorized},
		{"token sent", "t", "t", "/api/status", false, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tc.path, nil)
			req.RemoteAddr = "10.1.2.3:40000"
			if tc.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+tc.bearer)
			}
			rec := httptest.NewRecorder()
			statusAuth(ok, tc.token, tc.public).ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("%d, want %d", rec.Code, tc.want)
			}
		})
	}
}
