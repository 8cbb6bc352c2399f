package reconcile

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"
)

// stuckGenerator never returns on its own: with honour it ends when its
// context does, without it only when release closes (an in-process template
// engine in a loop).
type stuckGenerator struct {
	honour  bool
	release chan struct{}
}

func (g stuckGenerator) Generate(ctx context.Context, _ GenerateRequest) ([]*Object, error) {
	if g.honour {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	<-g.release
	return nil, nil
}

// A unit whose generator outlives the generate timeout fails with an error
// naming the unit and the limit, whether or not the generator heeds its
// context; the other unit of the revision generates, and nothing is cached.
func TestGenerateTimeout(t *testing.T) {
	tree := fstest.MapFS{
		"steward.yaml":   {Data: []byte(twoUnits)},
		"apps/a/cm.yaml": {Data: []byte(cm("a", "1"))},
		"apps/b/cm.yaml": {Data: []byte(cm("b", "1"))},
	}
	for _, honour := range []bool{true, false} {
		release := make(chan struct{})
		s, err := LoadStack(tree)
		must(t, err)
		units, err := s.Select(nil)
		must(t, err)
		var calls atomic.Int32
		opts := DefaultRenderOptions()
		opts.GenerateTimeout = 50 * time.Millisecond
		opts.Cache = NewCache(t.TempDir(), "v")
		opts.Generators = func(u *Unit) (Generator, error) {
			if u.Name == "a" {
				return stuckGenerator{honour: honour, release: release}, nil
			}
			return fileGenerator{&calls}, nil
		}
		out := NewRenderer(opts).Render(context.Background(), &Revision{ID: "r1", Tree: tree}, units)
		close(release)
		var te *GenerateTimeoutError
		if !errors.As(out[0].Err, &te) || te.After != 50*time.Millisecond {
			t.Fatalf("honour=%v: unit a err = %v, want a GenerateTimeoutError", honour, out[0].Err)
		}
		if msg := out[0].Err.Error(); !strings.HasPrefix(msg, "unit a: ") || !strings.Contains(msg, "did not finish within 50ms") {
			t.Errorf("honour=%v: message %q names neither the unit nor the limit", honour, msg)
		}
		if !errors.Is(out[0].Err, context.DeadlineExceeded) {
			t.Errorf("honour=%v: %v is not a deadline", honour, out[0].Err)
		}
		if out[1].Err != nil || len(out[1].Objects) != 1 {
			t.Errorf("honour=%v: unit b = %v, %d objects; want it generated", honour, out[1].Err, len(out[1].Objects))
		}
		if _, _, _, _, ok := opts.Cache.lookup(units[0], nil, &Revision{ID: "r1", Tree: tree}, false); ok {
			t.Errorf("honour=%v: a timed-out unit was cached", honour)
		}
	}
}
