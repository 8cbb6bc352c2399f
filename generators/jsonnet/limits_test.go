package jsonnet

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/generators/internal/gentest"
	"github.com/stewardhq/steward/generators/internal/sandbox"
	"github.com/stewardhq/steward/reconcile"
)

func isolated(t *testing.T) Options {
	if sandbox.RaceEnabled {
		t.Skip("the race detector's shadow memory does not fit under the sandbox's RLIMIT_DATA")
	}
	opts := DefaultOptions()
	opts.Isolate, opts.MaxMemory = true, 256<<20
	return opts
}

func limitsRequest(name string) reconcile.GenerateRequest {
	return reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", name, "repo")), Dir: "u"}
}

// Programs that would take all of steward's memory while evaluating fail
// their unit when evaluated isolated; steward (this test process) lives on.
func TestIsolatedBombs(t *testing.T) {
	for _, name := range []string{"bomb-double", "bomb-deep"} {
		t.Run(name, func(t *testing.T) {
			_, err := NewWithOptions(nil, isolated(t)).Generate(t.Context(), limitsRequest(name))
			if err == nil || !strings.Contains(err.Error(), "ran out of memory (limit 256 MiB)") {
				t.Fatalf("err = %v, want the memory limit", err)
			}
		})
	}
}

// Isolated, a program evaluates exactly as in process (imports read through
// the parent), and errors keep their file and line.
func TestIsolatedSameAsInProcess(t *testing.T) {
	req := reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", "tree", "repo")), Dir: "apps/monitoring"}
	spec := &reconcile.JsonnetGenerator{JPath: []string{"jsonnet/libs"}}
	want, err := New(spec).Generate(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := NewWithOptions(spec, isolated(t)).Generate(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := gentest.Render(t, got), gentest.Render(t, want); string(g) != string(w) {
		t.Errorf("isolated output differs:\n%s", reconcile.UnifiedDiff("in process", "isolated", string(w), string(g)))
	}
	_, inErr := New(nil).Generate(t.Context(), limitsRequest("bad-runtime"))
	_, isoErr := NewWithOptions(nil, isolated(t)).Generate(t.Context(), limitsRequest("bad-runtime"))
	var se *reconcile.SourceError
	if inErr == nil || isoErr == nil || isoErr.Error() != inErr.Error() || !errors.As(isoErr, &se) {
		t.Errorf("isolated error %q, in process %q: want the same, located", isoErr, inErr)
	}
}

// Output past MaxOutput is refused, in process and isolated.
func TestOutputCap(t *testing.T) {
	for _, isolate := range []bool{false, true} {
		if isolate && sandbox.RaceEnabled {
			continue // see isolated
		}
		opts := DefaultOptions()
		opts.MaxOutput, opts.Isolate = 64<<10, isolate
		_, err := NewWithOptions(nil, opts).Generate(t.Context(), limitsRequest("big-output"))
		if err == nil || !strings.Contains(err.Error(), "exceeds 65536") || !strings.Contains(err.Error(), "u/main.jsonnet") {
			t.Errorf("isolate=%v: err = %v, want the output cap naming the file", isolate, err)
		}
	}
}

// The context's deadline ends an isolated evaluation that runs away.
func TestIsolatedDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	opts := isolated(t)
	opts.MaxMemory = 1 << 30
	_, err := NewWithOptions(nil, opts).Generate(ctx, limitsRequest("bomb-deep"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
}
