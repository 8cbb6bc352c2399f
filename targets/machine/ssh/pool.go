package ssh

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/stewardhq/steward/targets/machine"
)

var _ io.Closer = (*Pool)(nil)

// Pool keeps one transport per host for the length of a run, so the plan
// and the apply of a host share one SSH connection: its Dial returns the
// host's open transport (dialing it the first time) wrapped so that Close
// is a no-op; Pool.Close closes them all. A failed dial is not cached.
type Pool struct {
	dial func(ctx context.Context, host string) (machine.Transport, error)

	mu     sync.Mutex
	hosts  map[string]*poolEntry
	closed bool
}

type poolEntry struct {
	mu sync.Mutex // held while dialing, so a host is dialed once
	tr machine.Transport
}

// NewPool returns a pool over dial (for example Dialer's function).
func NewPool(dial func(ctx context.Context, host string) (machine.Transport, error)) *Pool {
	return &Pool{dial: dial, hosts: map[string]*poolEntry{}}
}

// Dial returns host's shared transport.
func (p *Pool) Dial(ctx context.Context, host string) (machine.Transport, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	e := p.hosts[host]
	if e == nil {
		e = &poolEntry{}
		p.hosts[host] = e
	}
	p.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.tr == nil {
		tr, err := p.dial(ctx, host)
		if err != nil {
			return nil, err
		}
		e.tr = tr
	}
	return pooled{e.tr}, nil
}

// Close closes every transport of the pool.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	hosts := p.hosts
	p.hosts = map[string]*poolEntry{}
	p.mu.Unlock()
	var errs []error
	for _, e := range hosts {
		e.mu.Lock()
		if e.tr != nil {
			errs = append(errs, e.tr.Close())
		}
		e.mu.Unlock()
	}
	return errors.Join(errs...)
}

// pooled is a shared transport whose Close leaves it open for the pool.
type pooled struct{ machine.Transport }

func (pooled) Close() error { return nil }
