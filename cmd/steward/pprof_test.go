package main

import (
	"net/http"
	"testing"
)

// TestRunPprof checks that profiles are off by default and, with --pprof,
// served only to a client holding the API token.
func TestRunPprof(t *testing.T) {
	bin := buildSteward(t)
	get := func(d *daemon, token string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, "http://"+d.addr+"/debug/pprof/heap?debug=1", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		name  string
		flags []string
		token string // sent by the client
		want  int
	}{
		{"off by default", nil, "api-token", http.StatusNotFound},
		{"on, no token", []string{"--pprof"}, "", http.StatusUnauthorized},
		{"on, wrong token", []string{"--pprof"}, "not-the-token", http.StatusUnauthorized},
		{"on, token", []string{"--pprof"}, "api-token", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo, work := t.TempDir(), t.TempDir()
			initRepo(t, repo, fileFleet(2, 1))
			args := append([]string{"run", "-C", repo, "--poll-interval", "1h"}, tc.flags...)
			d := startDaemon(t, bin, work, []string{"STEWARD_API_TOKEN=api-token"}, args...)
			if got := get(d, tc.token); got != tc.want {
				t.Errorf("GET /debug/pprof/heap: status %d, want %d", got, tc.want)
			}
		})
	}
}
