package sshd

import (
	"context"
	"errors"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv"
)

// ForTest starts n hosts for a test and stops them when it ends. A missing
// sshd is testenv.Missing (a failure under CI, a skip elsewhere); any other
// start error fails the test.
func ForTest(tb testing.TB, n int, opts Options) []*Host {
	tb.Helper()
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	hosts, err := StartN(context.Background(), n, opts)
	if errors.Is(err, ErrNotInstalled) {
		testenv.Missing(tb, "%v", err)
	}
	if err != nil {
		tb.Fatalf("start sshd: %v", err)
	}
	tb.Cleanup(func() {
		for _, h := range hosts {
			h.Stop()
		}
	})
	return hosts
}
