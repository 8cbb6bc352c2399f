package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRunShardsBadInput: --shards without a cluster to hold the Leases, or
// with Lease timings that leave no margin, stops steward before it serves
// anything, with a usage error that says why.
func TestRunShardsBadInput(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-kubeconfig")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"negative", []string{"--shards", "-1"}, "--shards: want a positive number"},
		{"no cluster", []string{"--shards", "3", "--kubeconfig", missing}, "--shards needs a cluster for its Leases"},
		{"no margin", []string{"--shards", "3", "--kubeconfig", kubeEnv.Get(t).Kubeconfig, "--shard-lease-duration", "6s", "--shard-renew-period", "3s"},
			"lease duration 6s must exceed the margin 5s plus the renew period 3s"},
		{"fractional lease", []string{"--shards", "3", "--kubeconfig", kubeEnv.Get(t).Kubeconfig, "--shard-lease-duration", "15500ms"},
			"lease duration 15.5s is not a whole number of seconds"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			repo := t.TempDir()
			initRepo(t, repo, fileFleet(1, 1))
			args := append([]string{"run", "-C", repo, "--listen", "127.0.0.1:0"}, tc.args...)
			code, _, stderr := run(t, args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
		})
	}
}
