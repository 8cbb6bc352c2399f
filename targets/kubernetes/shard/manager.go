package shard

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/stewardhq/steward/reconcile"
)

// Options configure a Manager.
type Options struct {
	// Client talks to the cluster holding the Leases and unit records.
	Client kubernetes.Interface
	// Namespace holds the Leases and the unit records.
	Namespace string
	// Identity names this replica (the pod name in a cluster); unique
	// among the replicas.
	Identity string
	// Shards is how many shards the units are spread over (--shards).
	Shards int
	// LeaseDuration is how long a Lease stays owned without a renewal;
	// another replica takes a shard over only after that long.
	LeaseDuration time.Duration
	// RenewPeriod is how often Leases are listed, renewed and taken.
	RenewPeriod time.Duration
	// Margin is how much of the Lease must be left for an apply to start;
	// applies are cancelled when only Margin is left without a renewal.
	Margin time.Duration
	// OnAcquire is called when the replica took shards: their units are
	// due now.
	OnAcquire func()
	// Journal, when set, receives one JSON line per hold (an apply): replica,
	// unit, shard, start and end.
	Journal io.Writer
	Logger  *slog.Logger
	Now     func() time.Time
}

// DefaultOptions returns 15-second Leases renewed every 3 seconds, with a
// 5-second margin: a dead replica's shards are free 15 to 18 seconds after
// its last renewal.
func DefaultOptions() Options {
	return Options{Namespace: "steward-system", LeaseDuration: 15 * time.Second,
		RenewPeriod: 3 * time.Second, Margin: 5 * time.Second, Now: time.Now}
}

// Errors Hold returns.
var (
	// ErrNotOwner: the unit's shard is not held by this replica.
	ErrNotOwner = errors.New("shard not held by this replica")
	// ErrLapsing: the shard's Lease was not renewed in time; no apply may
	// start until it is.
	ErrLapsing = errors.New("shard lease not renewed in time")
	errLost    = errors.New("shard lease lost")
)

// Manager owns this replica's share of the shards: it renews and takes
// Leases, tells the reconciler which units are its own (reconcile.Ownership)
// and publishes their state for the other replicas (reconcile.Observer).
type Manager struct {
	opts     Options
	requests atomic.Int64 // Lease API requests

	mu        sync.Mutex
	held      map[int]*holding
	observed  map[string]observation // Lease name -> last change seen
	owners    map[int]string         // shard -> holder, as last listed
	members   []string
	published map[string]Record // unit -> record, from the watch
	lastSent  map[string]Record // unit -> record this replica wrote last
	pending   map[string]Record // records waiting to be written
	// stackUnits are the units of the stack of the last pass (nil before
	// one): the records of other units are deleted.
	stackUnits map[string]bool
	// nextExpiry is the soonest time another replica's Lease may expire,
	// as last listed (zero when none is due).
	nextExpiry time.Time
	wake       chan struct{}
	journalMu  sync.Mutex
}

// holding is one shard this replica holds.
type holding struct {
	// until is when the Lease may be taken over at the earliest: the start
	// of the last successful renewal plus the duration.
	until     time.Time
	ctx       context.Context // cancelled when holds must stop
	cancel    context.CancelFunc
	holds     int  // applies in flight
	releasing bool // giving it back: no new holds
	timer     *time.Timer
}

type observation struct {
	version string
	at      time.Time
}

var (
	_ reconcile.Ownership = (*Manager)(nil)
	_ reconcile.Observer  = (*Manager)(nil)
)

// New returns a Manager; call Run.
func New(opts Options) (*Manager, error) {
	def := DefaultOptions()
	if opts.Client == nil {
		return nil, errors.New("shard: no Kubernetes client")
	}
	if opts.Shards < 1 {
		return nil, fmt.Errorf("shard: want at least one shard, found %d", opts.Shards)
	}
	if opts.Identity == "" {
		return nil, errors.New("shard: no replica identity")
	}
	if opts.Namespace == "" {
		opts.Namespace = def.Namespace
	}
	if opts.LeaseDuration <= 0 {
		opts.LeaseDuration = def.LeaseDuration
	}
	if opts.RenewPeriod <= 0 {
		opts.RenewPeriod = def.RenewPeriod
	}
	if opts.Margin <= 0 {
		opts.Margin = def.Margin
	}
	if opts.LeaseDuration%time.Second != 0 {
		// A Lease holds whole seconds: the others would take a shard
		// over before this replica's own count ran out.
		return nil, fmt.Errorf("shard: lease duration %s is not a whole number of seconds", opts.LeaseDuration)
	}
	if opts.Margin+opts.RenewPeriod >= opts.LeaseDuration {
		return nil, fmt.Errorf("shard: lease duration %s must exceed the margin %s plus the renew period %s",
			opts.LeaseDuration, opts.Margin, opts.RenewPeriod)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.OnAcquire == nil {
		opts.OnAcquire = func() {}
	}
	return &Manager{opts: opts, held: map[int]*holding{}, observed: map[string]observation{},
		owners: map[int]string{}, published: map[string]Record{}, lastSent: map[string]Record{},
		pending: map[string]Record{}, wake: make(chan struct{}, 1)}, nil
}

// Identity is this replica's name.
func (m *Manager) Identity() string { return m.opts.Identity }

// Start follows the records the replicas publish and starts publishing
// this one's until ctx is done. It returns once the records are read.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.watch(ctx); err != nil {
		return err
	}
	go m.publishLoop(ctx)
	return nil
}

// Run keeps the Leases until ctx is done, then gives back the shards it
// holds: cancel ctx after the reconciler stopped, when no apply is in
// flight.
func (m *Manager) Run(ctx context.Context) {
	t := time.NewTicker(m.opts.RenewPeriod)
	defer t.Stop()
	start := m.opts.Now()
	for {
		m.tick(ctx)
		var early <-chan time.Time
		if d, ok := m.untilNextExpiry(); ok {
			early = time.After(d)
		}
		select {
		case <-ctx.Done():
			m.releaseAll()
			m.opts.Logger.Info("shard leases released", "leaseRequests", m.requests.Load(),
				"seconds", m.opts.Now().Sub(start).Seconds())
			return
		case <-t.C:
		case <-early:
		}
	}
}

// LeaseRequests is how many Lease API requests the manager made.
func (m *Manager) LeaseRequests() int64 { return m.requests.Load() }

// Owns reports whether this replica reconciles unit: its shard is held,
// renewed in time and not being given back.
func (m *Manager) Owns(unit string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ownsLocked(unit)
}

// ownsLocked is Owns with m.mu held.
func (m *Manager) ownsLocked(unit string) bool {
	h := m.held[Assign(unit, m.opts.Shards)]
	return h != nil && !h.releasing && h.ctx.Err() == nil
}

// Hold lets one apply of unit start when its shard's Lease has more than
// the margin left. The context it returns is cancelled when the Lease can
// no longer be vouched for (not renewed in time, lost, given back); call
// release when the apply ended.
func (m *Manager) Hold(ctx context.Context, unit string) (context.Context, func(), error) {
	k := Assign(unit, m.opts.Shards)
	now := m.opts.Now()
	m.mu.Lock()
	h := m.held[k]
	switch {
	case h == nil || h.releasing:
		m.mu.Unlock()
		return nil, nil, fmt.Errorf("shard %d: %w", k, ErrNotOwner)
	case h.ctx.Err() != nil || h.until.Sub(now) < m.opts.Margin:
		m.mu.Unlock()
		return nil, nil, fmt.Errorf("shard %d: %w (%s left)", k, ErrLapsing, h.until.Sub(now).Round(time.Millisecond))
	}
	h.holds++
	shardCtx := h.ctx
	m.mu.Unlock()
	c, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(shardCtx, func() { cancel(errLost) })
	release := sync.OnceFunc(func() {
		stop()
		cancel(nil)
		m.mu.Lock()
		h.holds--
		m.mu.Unlock()
		m.journal(unit, k, now, m.opts.Now())
	})
	return c, release, nil
}

// External returns the revision and readiness another replica published
// for unit ("" and false when nothing is known).
func (m *Manager) External(unit string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.published[unit]
	if !ok {
		return "", false
	}
	return r.Revision, r.Ready
}

// Owner returns the replica holding unit's shard as last seen ("" when
// none does).
func (m *Manager) Owner(unit string) string {
	k := Assign(unit, m.opts.Shards)
	m.mu.Lock()
	defer m.mu.Unlock()
	if h := m.held[k]; h != nil && !h.releasing {
		return m.opts.Identity
	}
	return m.owners[k]
}

// Published returns the record of unit the replicas share.
func (m *Manager) Published(unit string) (Record, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.published[unit]
	return r, ok
}

// Held returns the shards this replica holds, in order.
func (m *Manager) Held() []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []int
	for k, h := range m.held {
		if !h.releasing {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func (m *Manager) journal(unit string, shard int, start, end time.Time) {
	if m.opts.Journal == nil {
		return
	}
	line := fmt.Sprintf(`{"replica":%q,"unit":%q,"shard":%d,"start":%q,"end":%q}`+"\n", m.opts.Identity, unit, shard,
		start.UTC().Format(time.RFC3339Nano), end.UTC().Format(time.RFC3339Nano))
	m.journalMu.Lock()
	defer m.journalMu.Unlock()
	_, _ = io.WriteString(m.opts.Journal, line)
}

// ShardLease names the Lease of shard k.
func ShardLease(k int) string { return fmt.Sprintf("steward-shard-%d", k) }

// memberLease names the Lease a replica renews to be counted.
func memberLease(identity string) string {
	clean := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, identity)
	if len(clean) > 200 || clean != identity {
		h := fnv.New32a()
		_, _ = h.Write([]byte(identity))
		clean = fmt.Sprintf("%.200s-%08x", strings.Trim(clean, "-."), h.Sum32())
	}
	return "steward-member-" + clean
}
