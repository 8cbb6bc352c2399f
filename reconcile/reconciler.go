package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// TargetResolver returns the implementation of a stack's logical target;
// cmd wires it with the credentials the running steward holds.
type TargetResolver func(ctx context.Context, name string, spec TargetSpec) (Target, error)

// Observer receives what the reconciler does; status, metrics and
// notifications are all derived from these events.
type Observer interface {
	SourceChecked(SourceEvent)
	UnitReconciled(UnitEvent)
	PassCompleted(PassEvent)
}

// SourceEvent reports one poll of the source.
type SourceEvent struct {
	Revision *Revision // nil when the poll failed
	Err      error     // the poll failed
	Refused  error     // the revision was refused: invalid stack, generation or check failure
	Duration time.Duration
}

// UnitState is where a unit stands.
type UnitState string

// The unit states.
const (
	StateReady       UnitState = "ready"
	StateFailed      UnitState = "failed"
	StateBlocked     UnitState = "blocked"
	StateSuspended   UnitState = "suspended"
	StateProgressing UnitState = "progressing"
)

// UnitEvent reports one unit's reconciliation (or why it did not happen).
type UnitEvent struct {
	Unit      *Unit
	Revision  string // the revision attempted
	State     UnitState
	ChangeSet *ChangeSet // nil unless the target was reached
	Err       error
	Reason    string // why blocked or suspended
	Drift     int    // objects corrected while the revision stayed the same
	Duration  time.Duration
	NextRun   time.Time
	// Outputs are the unit's recorded outputs as status shows them
	// (sensitive ones masked), when it has any.
	Outputs map[string]string
	// Release is the release line of a wave of a progressive unit
	// ("wave 2 of 3, frozen: ..."), "" for other units.
	Release string
}

// PassEvent reports the end of one pass over the units.
type PassEvent struct {
	Revision string
	// Stack is the stack of the revision in use, nil before a good one.
	Stack  *Stack
	Units  int // units reconciled in the pass
	Failed int
	// Removed are the units removed from the stack that the pass
	// garbage-collected, or failed to.
	Removed []Removal
}

// ReconcilerOptions configure a Reconciler.
type ReconcilerOptions struct {
	Source Source
	// Stages generate and check each new revision (Generate).
	Stages   Stages
	Targets  TargetResolver
	Observer Observer // optional
	// PollInterval is how often the source is polled without a trigger.
	PollInterval time.Duration
	// Interval re-applies every unit this often to correct drift (a
	// unit's own interval wins).
	Interval time.Duration
	// Concurrency bounds how many units apply at once.
	Concurrency int
	// RetryMin and RetryMax bound the exponential backoff of a failing unit.
	RetryMin, RetryMax time.Duration
	// Diffs bound the diffs the change sets of unit events carry (status,
	// metrics, notifications); zero fields take their defaults.
	Diffs  DiffLimits
	Logger *slog.Logger
	Now    func() time.Time
	// Propagation bounds re-applies for changed inputs (reconciler_outputs.go).
	Propagation PropagationOptions

	// Ownership, when set, limits the reconciler to the units this replica
	// owns (steward run --shards); nil means every unit.
	Ownership Ownership
}

// DefaultReconcilerOptions returns options with a one-minute poll, a ten-minute drift
// interval, four units at once and retries from 5s to 5m.
func DefaultReconcilerOptions() ReconcilerOptions {
	return ReconcilerOptions{PollInterval: time.Minute, Interval: 10 * time.Minute, Concurrency: 4,
		RetryMin: 5 * time.Second, RetryMax: 5 * time.Minute, Now: time.Now}
}

// Reconciler keeps units the way the source says: it polls, generates,
// checks and applies in dependency order across all targets.
type Reconciler struct {
	opts    ReconcilerOptions
	trigger chan struct{}

	mu        sync.Mutex
	units     map[string]*unitState
	suspended map[string]bool
	current   *generation        // the last good revision, generated and checked
	refused   map[string]refusal // revisions refused, by ID
	requested *PassRequest       // a manual sync asked for while Run runs
	targets   map[string]cachedTarget
	// collected names the targets whose removed units were collected at
	// a revision, by revision (only the current one is kept).
	collected map[string]map[string]bool
	// suspLoaded names the targets whose recorded suspensions were read.
	suspLoaded map[string]bool
	// sourceFailures counts polls failed in a row: Run retries them with
	// backoff, sooner than the poll interval.
	sourceFailures int
	passMu         sync.Mutex // one pass at a time
	resolveMu      sync.Mutex // one target resolution at a time
	sched          schedStats
	flow           flowState // outputs and inputs (reconciler_outputs.go)
}

type unitState struct {
	appliedRevision   string
	appliedHash       string
	attemptedRevision string // revision of the last attempt, applied or blocked
	attemptedHash     string // objects of the last attempt
	ready             bool
	failures          int
	nextRetry         time.Time
	lastApply         time.Time
	state             UnitState
}

type generation struct {
	*Generation
	rev     *Revision
	stack   *Stack
	objects map[string][]*Object
	hashes  map[string]string
	windows *Windows
}

// refusal is a revision that failed generation or checks. It is not tried
// again until RetryMax has passed: a deterministic failure stays refused
// without regenerating every poll, a passing one (a generator timeout) gets
// another chance.
type refusal struct {
	err error
	at  time.Time
}

// maxRefused bounds the refusals remembered.
const maxRefused = 64

type cachedTarget struct {
	spec   string
	target Target
}

// withDefaults returns o with every zero field set from
// DefaultReconcilerOptions.
func (o ReconcilerOptions) withDefaults() ReconcilerOptions {
	def := DefaultReconcilerOptions()
	if o.PollInterval <= 0 {
		o.PollInterval = def.PollInterval
	}
	if o.Interval <= 0 {
		o.Interval = def.Interval
	}
	if o.Concurrency <= 0 {
		o.Concurrency = def.Concurrency
	}
	if o.RetryMin <= 0 {
		o.RetryMin = def.RetryMin
	}
	if o.RetryMax <= 0 {
		o.RetryMax = def.RetryMax
	}
	if o.Now == nil {
		o.Now = def.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Observer == nil {
		o.Observer = nopObserver{}
	}
	return o
}

// NewReconciler returns a Reconciler; zero options take their defaults.
func NewReconciler(opts ReconcilerOptions) *Reconciler {
	opts = opts.withDefaults()
	return &Reconciler{
		opts: opts, trigger: make(chan struct{}, 1),
		units: map[string]*unitState{}, suspended: map[string]bool{},
		refused: map[string]refusal{}, targets: map[string]cachedTarget{},
		collected: map[string]map[string]bool{}, suspLoaded: map[string]bool{},
	}
}

// Trigger asks for a poll now (a webhook); it never blocks.
func (r *Reconciler) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// RequestSync asks Run for a manual pass over units (and what they depend
// on) as soon as the pass in flight ends; it never blocks. Requests that
// arrive while one is queued join it, so a burst of them costs one pass. Run
// owns the pass, so a shutdown waits for it like for any other.
func (r *Reconciler) RequestSync(units []string) {
	r.mu.Lock()
	if r.requested == nil {
		r.requested = &PassRequest{Manual: true}
	}
	for _, u := range units {
		if !slices.Contains(r.requested.Units, u) {
			r.requested.Units = append(r.requested.Units, u)
		}
	}
	r.mu.Unlock()
	r.Trigger()
}

// Run polls and reconciles until ctx is done. Cancelling ctx stops
// scheduling; units already applying finish first. It returns nil on a
// clean stop.
func (r *Reconciler) Run(ctx context.Context) error {
	for {
		r.mu.Lock()
		req := r.requested
		r.requested = nil
		r.mu.Unlock()
		if req == nil {
			req = &PassRequest{}
		}
		_, _ = r.Pass(ctx, *req) // outcomes reach the Observer
		if ctx.Err() != nil {
			return nil
		}
		wait := r.nextWake()
		select {
		case <-ctx.Done():
			return nil
		case <-r.trigger:
		case <-time.After(wait):
		}
	}
}

// PassRequest narrows a pass.
type PassRequest struct {
	// Units limits the pass to these units and what they depend on; empty
	// means every due unit.
	Units []string
	// Manual marks a pass a person asked for: the named units apply even if
	// not due, and windows with manualSync let it through.
	Manual bool
	// AllowMassPrune lets a manual pass delete every object of a unit, or
	// more than its pruneLimit (GuardPrune).
	AllowMassPrune bool
}

// PassResult is what one pass did.
type PassResult struct {
	Revision string
	Refused  error // the polled revision was refused; the last good one was used
	Events   []UnitEvent
	// Removed are the units removed from the stack that the pass
	// garbage-collected, or failed to.
	Removed []Removal
}

// Failed reports whether any unit failed in the pass, or the collection
// of a removed one.
func (p *PassResult) Failed() bool {
	return slices.ContainsFunc(p.Events, func(e UnitEvent) bool { return e.State == StateFailed }) ||
		slices.ContainsFunc(p.Removed, func(r Removal) bool { return r.Err != nil })
}

// ErrNoRevision is returned when no good revision is known yet.
var ErrNoRevision = errors.New("no good revision yet")

// Pass polls the source once and reconciles the units that are due.
func (r *Reconciler) Pass(ctx context.Context, req PassRequest) (*PassResult, error) {
	r.passMu.Lock()
	defer r.passMu.Unlock()
	res := &PassResult{}
	if err := r.poll(ctx, res); err != nil && r.current == nil {
		r.opts.Observer.PassCompleted(PassEvent{})
		return res, err
	}
	gen := r.current
	if gen == nil {
		// The first revision was refused: the pass is over all the same
		// (a daemon is ready to take the webhook announcing a fix).
		r.opts.Observer.PassCompleted(PassEvent{})
		return res, ErrNoRevision
	}
	res.Revision = gen.rev.ID
	req.Units = gen.stack.expandNames(req.Units)
	selected, err := r.selectUnits(gen, req)
	if err != nil {
		return res, err
	}
	if req.Manual && req.AllowMassPrune {
		ctx = AllowMassPrune(ctx)
	}
	r.loadSuspensions(ctx, gen)
	res.Events = r.applyRounds(ctx, gen, selected, req)
	res.Removed = r.collect(ctx, gen)
	failed := 0
	for _, e := range res.Events {
		if e.State == StateFailed {
			failed++
		}
	}
	r.opts.Observer.PassCompleted(PassEvent{Revision: gen.rev.ID, Stack: gen.stack, Units: len(res.Events), Failed: failed, Removed: res.Removed})
	return res, nil
}

// poll fetches the newest revision and, when it is new, generates and checks
// it. A refused revision leaves the last good one current.
func (r *Reconciler) poll(ctx context.Context, res *PassResult) error {
	start := r.opts.Now()
	rev, err := r.opts.Source.Poll(ctx)
	ev := SourceEvent{Revision: rev, Err: err, Duration: r.opts.Now().Sub(start)}
	r.mu.Lock()
	if err != nil {
		r.sourceFailures++
	} else {
		r.sourceFailures = 0
	}
	r.mu.Unlock()
	if err != nil {
		r.opts.Logger.Warn("poll failed", "error", err, "attempt", r.sourceFailures)
		r.opts.Observer.SourceChecked(ev)
		return err
	}
	if r.current != nil && r.current.rev.ID == rev.ID {
		r.opts.Observer.SourceChecked(ev)
		return nil
	}
	if refused, ok := r.refused[rev.ID]; ok && r.opts.Now().Sub(refused.at) < r.opts.RetryMax {
		ev.Refused, res.Refused = refused.err, refused.err
		r.opts.Observer.SourceChecked(ev)
		return nil
	}
	gen, err := r.generate(ctx, rev)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(r.refused) >= maxRefused {
			clear(r.refused)
		}
		r.refused[rev.ID] = refusal{err: err, at: r.opts.Now()}
		ev.Refused, res.Refused = err, err
		r.opts.Logger.Error("revision refused", "revision", rev.ID, "error", err)
		r.opts.Observer.SourceChecked(ev)
		return nil
	}
	r.mu.Lock()
	r.current = gen
	r.mu.Unlock()
	r.evictTargets(gen.stack)
	r.opts.Logger.Info("new revision", "revision", rev.ID, "units", len(gen.stack.Units))
	r.opts.Observer.SourceChecked(ev)
	return nil
}

func (r *Reconciler) generate(ctx context.Context, rev *Revision) (*generation, error) {
	g, err := Generate(ctx, rev, nil, r.generationStages(ctx, rev))
	if err != nil {
		return nil, err
	}
	// A unit waiting for an input is blocked when applied, not a refusal.
	if p := withoutInputErrors(g.Problems); len(p) > 0 {
		return nil, p
	}
	gen := &generation{Generation: g, rev: rev, stack: g.Stack, windows: g.Windows,
		objects: make(map[string][]*Object, len(g.Units)), hashes: g.Hashes()}
	for _, ren := range g.Units {
		gen.objects[ren.Unit.Name] = ren.Objects
		gen.hashes[ren.Unit.Name] = unitHash(gen.hashes[ren.Unit.Name], ren.Inputs)
	}
	return gen, nil
}

// selectUnits returns the units of the pass: the named ones and everything
// they depend on, or all units.
func (r *Reconciler) selectUnits(gen *generation, req PassRequest) (map[string]bool, error) {
	out := map[string]bool{}
	if len(req.Units) == 0 {
		for _, u := range gen.stack.Units {
			out[u.Name] = true
		}
		return out, nil
	}
	if _, err := gen.stack.Select(req.Units); err != nil {
		return nil, err
	}
	g := gen.stack.Graph()
	var add func(string)
	add = func(n string) {
		if out[n] {
			return
		}
		out[n] = true
		for _, d := range g.Deps(n) {
			add(d)
		}
	}
	for _, n := range req.Units {
		add(n)
	}
	return out, nil
}

// nextWake returns how long Run sleeps: until the next poll, the next
// retry, or the next drift re-apply, whichever is first.
func (r *Reconciler) nextWake() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.opts.Now()
	next := now.Add(r.opts.PollInterval)
	if r.sourceFailures > 0 {
		next = now.Add(min(r.backoff(r.sourceFailures), r.opts.PollInterval))
	}
	if r.current != nil {
		for _, u := range r.current.stack.Units {
			if st := r.units[u.Name]; (st != nil && st.state == StateSuspended) || !r.owns(u.Name) {
				continue
			}
			if t := r.dueAt(&u); t.Before(next) {
				next = t
			}
		}
	}
	return max(next.Sub(now), 100*time.Millisecond)
}

// dueAt is when unit u next needs reconciling (r.mu held): now when it was
// never attempted, when its objects changed since the last attempt (a new
// revision does not wait for a backoff), or when it was blocked at an
// earlier revision (the new one may lift the block); its retry time when it
// failed or was blocked; else its drift interval after the last apply.
func (r *Reconciler) dueAt(u *Unit) time.Time {
	st := r.units[u.Name]
	switch {
	case st == nil || r.current == nil || st.state == "":
		return time.Time{}
	case st.state == StateSuspended:
		return time.Time{} // resumption is checked every pass
	case st.attemptedHash != r.current.hashes[u.Name]:
		return time.Time{}
	case st.state == StateBlocked && st.attemptedRevision != r.current.rev.ID:
		return time.Time{}
	case st.failures > 0 || st.state == StateBlocked:
		return st.nextRetry
	case st.appliedHash != r.current.hashes[u.Name]:
		return time.Time{}
	}
	return st.lastApply.Add(u.Interval.Or(r.opts.Interval))
}

// backoff returns the delay before retry n (1-based): exponential with
// ±20% jitter, within RetryMin and RetryMax.
func (r *Reconciler) backoff(n int) time.Duration {
	d := r.opts.RetryMin
	for i := 1; i < n && d < r.opts.RetryMax; i++ {
		d *= 2
	}
	d = min(d, r.opts.RetryMax)
	jitter := 0.8 + 0.4*rand.Float64()
	return time.Duration(float64(d) * jitter)
}

// target returns the resolved target for a unit, reusing it while the
// stack's spec of it is unchanged. Resolution is serialized, so units of one
// target share one instance.
func (r *Reconciler) target(ctx context.Context, stack *Stack, name string) (Target, error) {
	key := targetKey(stack.Targets[name])
	r.resolveMu.Lock()
	defer r.resolveMu.Unlock()
	r.mu.Lock()
	c, ok := r.targets[name]
	r.mu.Unlock()
	if ok && c.spec == key {
		return c.target, nil
	}
	t, err := r.opts.Targets(ctx, name, stack.Targets[name])
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", name, err)
	}
	r.mu.Lock()
	r.targets[name] = cachedTarget{spec: key, target: t}
	r.mu.Unlock()
	if ok && c.target != t {
		r.closeTarget(name, c.target) // not reached between passes: replace it now
	}
	return t, nil
}

func targetKey(spec TargetSpec) string {
	b, _ := json.Marshal(spec)
	return string(b)
}

// evictTargets closes the cached targets that stack no longer names or
// names with another spec (a stack edit replaced them). It runs when a new
// revision becomes current, between passes (r.passMu held): no unit is
// applying.
func (r *Reconciler) evictTargets(stack *Stack) {
	r.mu.Lock()
	var gone []string
	for name, c := range r.targets {
		if spec, ok := stack.Targets[name]; !ok || targetKey(spec) != c.spec {
			gone = append(gone, name)
		}
	}
	slices.Sort(gone)
	evicted := make([]Target, len(gone))
	for i, name := range gone {
		evicted[i] = r.targets[name].target
		delete(r.targets, name)
	}
	r.mu.Unlock()
	for i, t := range evicted {
		r.closeTarget(gone[i], t)
	}
}

func (r *Reconciler) closeTarget(name string, t Target) {
	if c, ok := t.(io.Closer); ok {
		if err := c.Close(); err != nil {
			r.opts.Logger.Warn("closing a replaced target", "target", name, "error", err)
		}
	}
}

// Close releases what the reconciler holds: every target it resolved and the
// source, each one that is an io.Closer. It waits for a pass in flight;
// call it after Run returned.
func (r *Reconciler) Close() error {
	r.passMu.Lock()
	defer r.passMu.Unlock()
	r.mu.Lock()
	targets := r.targets
	r.targets = map[string]cachedTarget{}
	r.mu.Unlock()
	var errs []error
	names := slices.Sorted(maps.Keys(targets))
	for _, name := range names {
		if c, ok := targets[name].target.(io.Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close target %s: %w", name, err))
			}
		}
	}
	if c, ok := r.opts.Source.(io.Closer); ok {
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close source: %w", err))
		}
	}
	return errors.Join(errs...)
}

type nopObserver struct{}

func (nopObserver) SourceChecked(SourceEvent) {}
func (nopObserver) UnitReconciled(UnitEvent)  {}
func (nopObserver) PassCompleted(PassEvent)   {}

// Current returns the last good revision and its stack, or nils before one.
func (r *Reconciler) Current() (*Revision, *Stack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current == nil {
		return nil, nil
	}
	return r.current.rev, r.current.stack
}

// Generation returns the last good revision as generated and checked, or nil
// before one.
func (r *Reconciler) Generation() *Generation {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current == nil {
		return nil
	}
	return r.current.Generation
}
