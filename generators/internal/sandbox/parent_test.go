package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// crasher is a generator that touches Spec MiB of memory, then exits with
// status 2 as a crashed runtime would, saying "boom".
type crasher struct{ mib int }

func (c crasher) Generate(context.Context, reconcile.GenerateRequest) ([]*reconcile.Object, error) {
	b := make([]byte, c.mib<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	fmt.Fprintf(os.Stderr, "boom after %d bytes\n", len(b))
	os.Exit(2)
	return nil, nil
}

func init() {
	Serve("test-crash", func(spec json.RawMessage, _ int64) (reconcile.Generator, error) {
		var mib int
		err := json.Unmarshal(spec, &mib)
		return crasher{mib: mib}, err
	})
}

// A child that crashes after using at least half its memory limit ran out
// of memory (540 MiB of 1 GiB: above half, below where the runtime itself
// reports running out), whatever it printed (near the limit Go's runtime may fault
// instead of reporting it); one that crashes small is reported with its
// stderr.
func TestCrashNearTheLimitIsOutOfMemory(t *testing.T) {
	if RaceEnabled {
		t.Skip("the race detector's shadow memory does not fit under RLIMIT_DATA")
	}
	lim := Limits{MaxMemory: 1024 << 20, MaxOutput: 1 << 20}
	_, err := Run(t.Context(), "test-crash", 540, reconcile.GenerateRequest{}, lim)
	var me *MemoryError
	if !errors.As(err, &me) || me.Limit != lim.MaxMemory {
		t.Fatalf("crash at 540 of 1024 MiB: %v, want out of memory", err)
	}
	_, err = Run(t.Context(), "test-crash", 8, reconcile.GenerateRequest{}, lim)
	if errors.As(err, &me) || err == nil || !strings.Contains(err.Error(), "boom after 8388608 bytes") {
		t.Fatalf("crash at 8 of 1024 MiB: %v, want the child's failure with its stderr", err)
	}
}
