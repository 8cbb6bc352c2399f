package images

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/images/policy"
)

// Registry is what a scan reads. sources/registry's Scan implements it:
// Tags once per image per scan, Digest with one HEAD, Created from the
// image config (cached by digest).
type Registry interface {
	Tags(ctx context.Context, image string) ([]string, error)
	Digest(ctx context.Context, image, tag string) (string, error)
	Created(ctx context.Context, image, tag string) (time.Time, string, error)
}

// ErrNoMatch is a policy that admits none of the image's tags.
var ErrNoMatch = errors.New("no tag matches the policy")

// Options tune a scan.
type Options struct {
	// Concurrency is how many images are read at once.
	Concurrency int
	// MaxAgeReads bounds the image configs one minAge policy reads while
	// it walks down from the best tag looking for one old enough.
	MaxAgeReads int
	// Now is the clock minAge is measured against.
	Now func() time.Time
	// Created reads the created time of every chosen tag (for listing),
	// not only where minAge needs it.
	Created bool
}

// DefaultOptions reads 8 images at once and at most 20 configs per minAge
// policy.
func DefaultOptions() Options {
	return Options{Concurrency: 8, MaxAgeReads: 20, Now: time.Now}
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	if o.MaxAgeReads <= 0 {
		o.MaxAgeReads = d.MaxAgeReads
	}
	if o.Now == nil {
		o.Now = d.Now
	}
	return o
}

// Choice is what one policy chose, as data: the CLI, status and metrics are
// all derived from it.
type Choice struct {
	Policy string
	Image  string
	// Tag is the chosen tag; empty when Err is set.
	Tag string
	// Digest is the manifest digest of Tag, when the policy pins digests
	// or its created time was read.
	Digest string
	// Created is the image config's created time, when it was read.
	Created time.Time
	// CreatedErr is why Options.Created could not read it (the choice
	// stands).
	CreatedErr error
	// Ref is the value markers of this policy are set to (with the digest
	// only when the policy pins).
	Ref Ref
	// TooYoung lists better tags passed over for minAge, best first.
	TooYoung []string
	// Err is why nothing was chosen: a registry error (sources/registry's
	// *Error), ErrNoMatch, or a policy that does not compile.
	Err error
}

// Scan lists each image's tags once and lets every policy choose. Results
// are in the order of policies.
func Scan(ctx context.Context, reg Registry, policies []reconcile.ImagePolicy, opts Options) []Choice {
	opts = opts.withDefaults()
	out := make([]Choice, len(policies))
	compiled := make([]*policy.Policy, len(policies))
	images := map[string]bool{}
	var order []string
	for i, p := range policies {
		out[i] = Choice{Policy: p.Name, Image: p.Image}
		c, err := policy.Compile(reconcile.PolicySpec(p))
		if err != nil {
			out[i].Err = fmt.Errorf("policy %s: %w", p.Name, err)
			continue
		}
		compiled[i] = c
		if !images[p.Image] {
			images[p.Image] = true
			order = append(order, p.Image)
		}
	}
	// One tag list per image, whatever the number of policies using it.
	tags := make([][]string, len(order))
	errs := make([]error, len(order))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for i, image := range order {
		g.Go(func() error {
			tags[i], errs[i] = reg.Tags(gctx, image)
			return nil
		})
	}
	_ = g.Wait()
	byImage := map[string]int{}
	for i, image := range order {
		byImage[image] = i
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for i := range policies {
		if compiled[i] == nil {
			continue
		}
		j := byImage[policies[i].Image]
		if errs[j] != nil {
			out[i].Err = errs[j]
			continue
		}
		g.Go(func() error {
			choose(gctx, reg, &policies[i], compiled[i], tags[j], opts, &out[i])
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// choose walks the ranked tags: the first is the choice unless minAge
// asks for an older one.
func choose(ctx context.Context, reg Registry, p *reconcile.ImagePolicy, c *policy.Policy, tags []string, opts Options, out *Choice) {
	ranked := c.Rank(tags)
	if len(ranked) == 0 {
		out.Err = fmt.Errorf("%w (%d tags)", ErrNoMatch, len(tags))
		return
	}
	minAge := p.MinAge.D()
	if minAge <= 0 {
		out.Tag = ranked[0]
		if opts.Created {
			out.Created, out.Digest, out.CreatedErr = reg.Created(ctx, p.Image, out.Tag)
		}
	} else {
		now := opts.Now()
		for i, tag := range ranked {
			if i >= opts.MaxAgeReads {
				out.Err = fmt.Errorf("%w: the %d best tags are all younger than minAge %s", ErrNoMatch, i, minAge)
				return
			}
			created, digest, err := reg.Created(ctx, p.Image, tag)
			if err != nil {
				out.Err = err
				return
			}
			if now.Sub(created) >= minAge {
				out.Tag, out.Digest, out.Created = tag, digest, created
				break
			}
			out.TooYoung = append(out.TooYoung, tag)
		}
		if out.Tag == "" {
			out.Err = fmt.Errorf("%w: every matching tag is younger than minAge %s", ErrNoMatch, minAge)
			return
		}
	}
	out.Ref = Ref{Name: p.Image, Tag: out.Tag}
	if p.Digest == "pin" {
		if out.Digest == "" {
			d, err := reg.Digest(ctx, p.Image, out.Tag)
			if err != nil {
				out.Tag, out.Ref, out.Err = "", Ref{}, err
				return
			}
			out.Digest = d
		}
		out.Ref.Digest = out.Digest
	}
}
