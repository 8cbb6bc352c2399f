package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// What Dispatcher.Notify returns when an event could not be queued.
var (
	ErrQueueFull = errors.New("notification queue full")
	ErrClosed    = errors.New("dispatcher closed")
)

// DispatcherOptions configures a Dispatcher.
type DispatcherOptions struct {
	// QueueSize bounds each notifier's queue; when it is full new events
	// for that notifier are dropped and logged.
	QueueSize int
	// Timeout bounds one delivery to one notifier.
	Timeout time.Duration
	// Logger receives failures; nil means slog.Default().
	Logger *slog.Logger
}

// DefaultDispatcherOptions returns a queue of 256 events and a 10s timeout.
func DefaultDispatcherOptions() DispatcherOptions {
	return DispatcherOptions{QueueSize: 256, Timeout: 10 * time.Second}
}

// withDefaults returns o with every zero field set from
// DefaultDispatcherOptions.
func (o DispatcherOptions) withDefaults() DispatcherOptions {
	def := DefaultDispatcherOptions()
	if o.QueueSize <= 0 {
		o.QueueSize = def.QueueSize
	}
	if o.Timeout <= 0 {
		o.Timeout = def.Timeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Dispatcher fans events out to notifiers without ever blocking its caller:
// each notifier has its own bounded queue and goroutine, so a hanging
// endpoint delays only its own deliveries, each cut off after Timeout.
// Close stops the goroutines.
type Dispatcher struct {
	opts    DispatcherOptions
	log     *slog.Logger
	workers []*worker
	ctx     context.Context // cancelled when Close gives up draining
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu     sync.RWMutex // guards closed against sends on closed queues
	closed bool
}

type worker struct {
	name  string
	n     Notifier
	queue chan Event
}

var _ Notifier = (*Dispatcher)(nil)

// NewDispatcher starts a dispatcher delivering to notifiers.
func NewDispatcher(opts DispatcherOptions, notifiers ...Notifier) *Dispatcher {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	d := &Dispatcher{opts: opts, log: opts.Logger.With("component", "notify"), ctx: ctx, cancel: cancel}
	for i, n := range notifiers {
		name := fmt.Sprintf("notifier-%d", i)
		if nn, ok := n.(named); ok {
			name = nn.Name()
		}
		w := &worker{name: name, n: n, queue: make(chan Event, opts.QueueSize)}
		d.workers = append(d.workers, w)
		d.wg.Go(func() { d.run(w) })
	}
	return d
}

// Notify queues ev for every notifier and returns at once. ctx is not used
// for the delivery, which outlives the call. The error says which notifiers
// dropped the event (ErrQueueFull) or that the dispatcher is closed; the
// caller may ignore it: drops are logged.
func (d *Dispatcher) Notify(_ context.Context, ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return ErrClosed
	}
	var errs []error
	for _, w := range d.workers {
		select {
		case w.queue <- ev:
		default:
			d.log.Warn("notification dropped: queue full", "notifier", w.name,
				"unit", ev.Unit, "revision", ev.Revision, "kind", ev.Kind)
			errs = append(errs, fmt.Errorf("%s: %w", w.name, ErrQueueFull))
		}
	}
	return errors.Join(errs...)
}

func (d *Dispatcher) run(w *worker) {
	for ev := range w.queue {
		if d.ctx.Err() != nil {
			continue // Close gave up: drop what is left without sending it
		}
		d.deliver(w, ev)
	}
}

func (d *Dispatcher) deliver(w *worker, ev Event) {
	ctx, cancel := context.WithTimeout(d.ctx, d.opts.Timeout)
	defer cancel()
	start := time.Now()
	err := w.n.Notify(ctx, ev)
	log := d.log.With("notifier", w.name, "unit", ev.Unit, "target", ev.Target,
		"revision", ev.Revision, "kind", ev.Kind, "duration", time.Since(start).Round(time.Millisecond))
	switch {
	case err == nil:
		log.Debug("notification sent")
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		log.Warn("notification failed: timed out", "timeout", d.opts.Timeout, "err", err)
	default:
		log.Warn("notification failed", "err", err)
	}
}

// Close stops accepting events, delivers what is queued, and returns when
// every goroutine has stopped. When ctx ends first, deliveries in flight are
// cancelled, the rest of the queues dropped, and ctx's error returned.
func (d *Dispatcher) Close(ctx context.Context) error {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		for _, w := range d.workers {
			close(w.queue)
		}
	}
	d.mu.Unlock()

	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
		d.cancel()
		return nil
	case <-ctx.Done():
		d.cancel()
		<-done
		return fmt.Errorf("close notifications: %w", ctx.Err())
	}
}
