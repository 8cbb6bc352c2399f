package machine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

var (
	_ reconcile.Target = (*Target)(nil)
	_ io.Closer        = (*Target)(nil)
)

// Dialer connects to one host. Packages ssh and local supply them.
type Dialer func(ctx context.Context, host string) (Transport, error)

// Config configures a machine Target.
type Config struct {
	// Name is the target's name in change sets.
	Name string
	// Hosts are the hosts to apply to, as the Dialer takes them.
	Hosts []string
	// Root is put before every object path on the hosts (default "/").
	Root string
	// Rollout batches hosts and sets the failure breaker. Zero means one
	// batch of all hosts and stopping at the first failure (which, with
	// one batch, stops nothing).
	Rollout reconcile.Rollout
	// Parallel is how many hosts are worked on at once (default 20).
	Parallel int
	// Health is checked on each host after a change when the unit has no
	// health of its own.
	Health *reconcile.Health
	// Env is added to the environment of every command run on the hosts
	// (tests put recording shims first on PATH this way).
	Env map[string]string
	// PackageManager is apt or dnf; empty detects it on each host.
	PackageManager string
	// PackageLockTimeout is how long apt waits for the dpkg lock another
	// process holds before it fails (default DefaultPackageLockTimeout).
	PackageLockTimeout time.Duration
	// PackageCacheMaxAge refreshes the package index before installing or
	// changing a package when it is older than this; 0 refreshes it only
	// when a package or version is unknown. Either way at most once per run.
	PackageCacheMaxAge time.Duration
	// HTTPClient runs HTTP health checks (default a client without
	// redirects to other hosts' credentials; http.DefaultClient's transport).
	HTTPClient *http.Client
	// Logger receives progress with keys unit, target, revision, host, object.
	Logger *slog.Logger
	// Connections, when set, holds the hosts' connections for the life of
	// the target (an ssh.Pool whose Dial is the target's Dialer); Close
	// closes it.
	Connections io.Closer
}

// DefaultPackageLockTimeout is how long apt waits for the dpkg lock.
const DefaultPackageLockTimeout = time.Minute

// DefaultConfig returns a Config for hosts with the defaults filled in.
func DefaultConfig(hosts ...string) Config {
	return Config{Hosts: hosts, Root: "/", Parallel: 20, HTTPClient: &http.Client{}, Logger: slog.New(slog.DiscardHandler),
		PackageLockTimeout: DefaultPackageLockTimeout}
}

// Target applies machine objects to hosts.
type Target struct {
	cfg  Config
	dial Dialer
	// invLocks serialises this process's writes of one inventory (host and
	// unit), so a suspension set during an apply is not overwritten by it.
	invLocks sync.Map // string -> *sync.Mutex
	invs     inventoryCache
}

// New returns a Target for cfg reaching hosts through dial. Zero fields of
// cfg take DefaultConfig's values.
func New(cfg Config, dial Dialer) *Target {
	def := DefaultConfig()
	if cfg.Root == "" {
		cfg.Root = def.Root
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = def.Parallel
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = def.HTTPClient
	}
	if cfg.Logger == nil {
		cfg.Logger = def.Logger
	}
	if cfg.PackageLockTimeout <= 0 {
		cfg.PackageLockTimeout = def.PackageLockTimeout
	}
	return &Target{cfg: cfg, dial: dial}
}

// Close releases the connections the target holds (Config.Connections);
// a target is not used after Close.
func (t *Target) Close() error {
	if t.cfg.Connections == nil {
		return nil
	}
	return t.cfg.Connections.Close()
}

// Config returns the target's configuration.
func (t *Target) Config() Config { return t.cfg }

// planData is what Apply needs: the plan of every host.
type planData struct {
	hosts []*hostPlan
}

// hostPlan is one host's plan.
type hostPlan struct {
	host    string
	err     error   // planning failed: nothing is applied to the host
	steps   []*step // declared objects in apply order, then prune steps
	inv     *Inventory
	pending []string            // pending actions of this plan, recorded first
	objects []*reconcile.Object // declared objects, the next last good
	changes []reconcile.Change  // the plan's changes, index-aligned with steps
	held    string              // why the revision is not applied here (rolled back before)
	planErr error               // the first object that failed to plan: nothing is applied
}

func (hp *hostPlan) changed() bool {
	for _, s := range hp.steps {
		if len(s.ops) > 0 {
			return true
		}
	}
	return false
}

var _ reconcile.ObjectReader = (*Target)(nil)

// ReadsObjectsOnly says Plan and Apply never change a request's objects:
// they decode each into its spec and keep it as it is for the inventory.
func (t *Target) ReadsObjectsOnly() {}

// Plan reads every host and returns the changes apply would make, per host
// and object. It changes nothing on any host. A host that cannot be reached
// or read gets failed changes; bad objects fail the whole plan.
func (t *Target) Plan(ctx context.Context, req reconcile.ApplyRequest) (*reconcile.Plan, error) {
	unit, err := unitOf(req)
	if err != nil {
		return nil, err
	}
	res, err := decodeAll(req.Objects)
	if err != nil {
		return nil, err
	}
	ctx = withInputs(ctx, req.Inputs)
	hps := make([]*hostPlan, len(t.cfg.Hosts))
	t.forHosts(ctx, len(hps), func(ctx context.Context, i int) {
		hps[i] = t.planHostDial(ctx, t.cfg.Hosts[i], unit, req, res)
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, hp := range hps {
		// Another stack's unit of this name: nothing of it is touched on
		// any host, and the unit fails whatever objects it has.
		var coll *reconcile.StackCollisionError
		if errors.As(hp.err, &coll) {
			return nil, hp.err
		}
	}
	plan := &reconcile.Plan{Request: req, Data: &planData{hosts: hps}}
	for i, hp := range hps {
		hp.changes = hostChanges(hp, res, t.cfg.Hosts[i])
		plan.Changes = append(plan.Changes, hp.changes...)
	}
	return plan, nil
}

func unitOf(req reconcile.ApplyRequest) (string, error) {
	if req.Unit == nil || req.Unit.Name == "" {
		return "", errors.New("machine target: request has no unit")
	}
	if !unitFileName.MatchString(req.Unit.Name) {
		return "", fmt.Errorf("machine target: unit name %q cannot name an inventory file", req.Unit.Name)
	}
	return req.Unit.Name, nil
}

// hostChanges turns a host plan into its changes.
func hostChanges(hp *hostPlan, res []resource, host string) []reconcile.Change {
	if hp.err != nil {
		out := make([]reconcile.Change, len(res))
		for i, r := range res {
			out[i] = reconcile.Change{Object: r.ID(), Host: host, Action: reconcile.Failed, Message: "plan: " + hp.err.Error()}
		}
		return out
	}
	out := make([]reconcile.Change, len(hp.steps))
	for i, s := range hp.steps {
		out[i] = reconcile.Change{Object: s.id, Host: host, Action: s.action, Diff: s.diff, Message: s.msg}
		switch {
		case hp.held != "" && len(s.ops) > 0:
			out[i].Action, out[i].Message = reconcile.Skipped, hp.held
		case hp.planErr != nil && s.action != reconcile.Failed && len(s.ops) > 0:
			out[i].Action, out[i].Message = reconcile.Skipped, "not applied: the plan of another object failed on this host"
		}
	}
	return out
}

func (t *Target) planHostDial(ctx context.Context, name, unit string, req reconcile.ApplyRequest, res []resource) *hostPlan {
	tr, err := t.dial(ctx, name)
	if err != nil {
		return &hostPlan{host: name, err: fmt.Errorf("connect: %w", err)}
	}
	defer tr.Close()
	h := t.host(tr, name)
	inv, err := t.planInventory(ctx, h, unit)
	if err != nil {
		return &hostPlan{host: name, err: err}
	}
	if err := reconcile.CheckInventoryOwner("host "+name, unit, inv.Stack, stackOf(req)); err != nil {
		return &hostPlan{host: name, err: err}
	}
	prune := req.Unit != nil && req.Unit.Prune
	hp, err := planHost(ctx, h, inv, res, prune)
	if err != nil {
		return &hostPlan{host: name, err: err}
	}
	hp.objects = req.Objects
	if !reconcile.RetryingHeld(ctx) && hp.changed() {
		hp.held = inv.held(req.Revision)
	}
	return hp
}

// planHost plans res on h against its inventory; it only reads the host.
func planHost(ctx context.Context, h *host, inv *Inventory, res []resource, prune bool) (*hostPlan, error) {
	pc := &planCtx{changed: map[string]bool{}, pending: map[string]bool{}, prior: map[string]*Entry{}, accounts: map[string]bool{}}
	for _, p := range inv.Pending {
		pc.pending[p] = true
	}
	for i := range inv.Entries {
		pc.prior[inv.Entries[i].key()] = &inv.Entries[i]
	}
	for _, r := range res {
		if u, ok := r.(*userRes); ok {
			pc.accounts[u.spec.Name] = true
		}
	}
	hp := &hostPlan{host: h.name, inv: inv}
	declared := map[string]bool{}
	for _, r := range res {
		st, err := r.plan(ctx, h, pc)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// This object failed to plan; the others are still planned so
			// each reports its own outcome, but the host is not applied.
			var se *SpecError
			if !errors.As(err, &se) {
				err = fmt.Errorf("%s: %w", objName(r.ID()), err)
			}
			st = &step{id: r.ID(), action: reconcile.Failed, msg: "plan: " + err.Error()}
			if hp.planErr == nil {
				hp.planErr = err
			}
		}
		st.key = r.ID().Kind + ":" + r.ident()
		declared[st.key] = true
		if len(st.ops) > 0 {
			pc.changed[r.ID().Kind+"/"+r.ID().Name] = true
		}
		for _, o := range st.ops {
			if o.pending != "" {
				hp.pending = append(hp.pending, o.pending)
			}
		}
		hp.steps = append(hp.steps, st)
	}
	var orphans []*Entry
	for i := range inv.Entries {
		if e := &inv.Entries[i]; !declared[e.key()] {
			orphans = append(orphans, e)
		}
	}
	if !prune {
		return hp, nil
	}
	sortForPrune(orphans)
	var elsewhere map[string]string
	if len(orphans) > 0 {
		var err error
		if elsewhere, err = managedElsewhere(ctx, h, inv.Unit); err != nil {
			return nil, fmt.Errorf("prune: %w", err)
		}
	}
	for _, e := range orphans {
		if other, ok := elsewhere[e.key()]; ok {
			// Another unit declares it now: adopted by that unit, not deleted.
			hp.steps = append(hp.steps, &step{id: e.id(), action: reconcile.Unchanged, prune: true, key: e.key(),
				msg: "no longer declared; left in place: unit " + other + " manages it now"})
			continue
		}
		st, err := planPrune(ctx, h, e)
		if err != nil {
			return nil, fmt.Errorf("prune %s: %w", objName(e.id()), err)
		}
		hp.steps = append(hp.steps, st)
	}
	return hp, nil
}

// decodeAll decodes and orders a unit's objects: kind order, parents before
// children, watched objects before their watchers.
func decodeAll(objs []*reconcile.Object) ([]resource, error) {
	if err := reconcile.CheckDuplicates(objs); err != nil {
		return nil, err
	}
	res := make([]resource, 0, len(objs))
	for _, o := range objs {
		r, err := decode(o)
		if err != nil {
			return nil, err
		}
		res = append(res, r)
	}
	return orderResources(res)
}
