package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DefaultGenerateTimeout is how long one unit may take to generate.
const DefaultGenerateTimeout = 5 * time.Minute

// GenerateTimeoutError is a unit whose generation did not finish within
// RenderOptions.GenerateTimeout.
type GenerateTimeoutError struct {
	After time.Duration
}

func (e *GenerateTimeoutError) Error() string {
	return fmt.Sprintf("generation did not finish within %s (the generate timeout)", e.After)
}

// Is matches context.DeadlineExceeded, so callers that test for it keep
// working.
func (e *GenerateTimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// generateWithin runs generate under the unit deadline. A generator that
// ignores its context (an in-process template engine in a loop) is left
// behind at the deadline: its result is dropped and never cached.
func (r *Renderer) generateWithin(ctx context.Context, rev *Revision, u *Unit, in Inputs, dec *decryption) ([]*Object, []input, error) {
	limit := r.opts.GenerateTimeout
	gctx, cancel := context.WithTimeoutCause(ctx, limit, &GenerateTimeoutError{After: limit})
	defer cancel()
	type result struct {
		objs   []*Object
		inputs []input
		err    error
		dec    decryption
	}
	done := make(chan result, 1)
	go func() {
		// A generation left behind writes only its own result.
		var d decryption
		objs, inputs, err := r.generate(gctx, rev, u, in, &d)
		done <- result{objs, inputs, err, d}
	}()
	select {
	case res := <-done:
		*dec = res.dec
		if res.err != nil && ctx.Err() == nil && errors.Is(context.Cause(gctx), context.DeadlineExceeded) {
			// The generator saw the deadline and said so in its own
			// words (or as a bare context error): name the limit.
			return nil, nil, fmt.Errorf("%w: %v", context.Cause(gctx), res.err)
		}
		return res.objs, res.inputs, res.err
	case <-gctx.Done():
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, context.Cause(gctx)
	}
}
