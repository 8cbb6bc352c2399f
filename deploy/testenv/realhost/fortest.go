package realhost

import (
	"context"
	"errors"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv"
)

// ForTest boots n hosts for a test and stops them when it ends. A machine
// that cannot boot them is testenv.Missing (a failure under CI, a skip
// elsewhere); any other error fails the test.
func ForTest(tb testing.TB, n int, opts Options) []*Host {
	tb.Helper()
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	hosts, err := StartN(context.Background(), n, opts)
	Require(tb, err)
	tb.Cleanup(func() {
		for _, h := range hosts {
			h.Stop()
		}
	})
	return hosts
}

// Require turns a StartN error (as a TestMain keeps it for the package's
// tests) into the test's outcome: ErrUnavailable is testenv.Missing, any
// other error a failure; nil does nothing.
func Require(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, ErrUnavailable) {
		testenv.Missing(tb, "%v", err)
	}
	if err != nil {
		tb.Fatalf("boot real hosts: %v", err)
	}
}
