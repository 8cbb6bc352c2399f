package kubernetes

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/pkg/ssa"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/stewardhq/steward/reconcile"
)

// Labels and annotations steward reads and writes on objects.
const (
	// UnitLabel marks every object with the unit that applied it.
	UnitLabel = "steward.dev/unit"
	// ForceAnnotation set to "true" lets steward recreate the object when an
	// immutable field changed, and take fields over from other appliers.
	ForceAnnotation = "steward.dev/force"
	// PruneAnnotation set to "disabled" keeps the object when a revision no
	// longer has it.
	PruneAnnotation = "steward.dev/prune"
)

// Options configure a Target.
type Options struct {
	// FieldManager is the server-side apply field manager (default steward).
	FieldManager string
	// QPS and Burst limit the client's request rate (default 50 and 100).
	QPS   float32
	Burst int
	// Namespace is the default namespace for namespaced objects without one
	// when the unit sets none (default "default").
	Namespace string
	// InventoryNamespace holds one inventory ConfigMap per unit (default
	// steward-system; created when missing).
	InventoryNamespace string
	// Concurrency bounds the dry-runs, applies and lists in flight (default 10).
	Concurrency int
	// Name is the logical target name reported in change sets.
	Name string
	// WaitInterval is how often health is polled while waiting (default 2s).
	WaitInterval time.Duration
	// WaitTimeout is the wait when a unit sets wait without a timeout
	// (default 5m).
	WaitTimeout time.Duration
	// DryRunNew also dry-runs objects that do not exist yet, so that a plan
	// shows server defaults and server-side validation errors for them. Off,
	// a new object costs one request (its apply) and a rejection shows up in
	// Apply's change set.
	DryRunNew bool
	// Logger receives one line per applied, deleted or failed object
	// (default slog.Default()).
	Logger *slog.Logger
}

// DefaultOptions returns the options New uses for zero fields.
func DefaultOptions() Options {
	return Options{
		FieldManager:       "steward",
		QPS:                50,
		Burst:              100,
		Namespace:          "default",
		InventoryNamespace: "steward-system",
		Concurrency:        10,
		WaitInterval:       2 * time.Second,
		WaitTimeout:        5 * time.Minute,
	}
}

func (o *Options) setDefaults() {
	d := DefaultOptions()
	if o.FieldManager == "" {
		o.FieldManager = d.FieldManager
	}
	if o.QPS == 0 {
		o.QPS = d.QPS
	}
	if o.Burst == 0 {
		o.Burst = d.Burst
	}
	if o.Namespace == "" {
		o.Namespace = d.Namespace
	}
	if o.InventoryNamespace == "" {
		o.InventoryNamespace = d.InventoryNamespace
	}
	if o.Concurrency <= 0 {
		o.Concurrency = d.Concurrency
	}
	if o.WaitInterval <= 0 {
		o.WaitInterval = d.WaitInterval
	}
	if o.WaitTimeout <= 0 {
		o.WaitTimeout = d.WaitTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Target applies units to one cluster.
type Target struct {
	opts   Options
	cfg    *rest.Config
	http   *http.Client
	mapper meta.RESTMapper
	own    *identity // steward's own identity: inventory reads and writes

	mu    sync.Mutex
	users map[string]*identity // impersonated service accounts

	// liveReads counts the live objects plans read, for tests that keep a
	// unit's plan from reading its neighbours.
	liveReads atomic.Int64
}

var _ reconcile.Target = (*Target)(nil)

// identity is a client and a resource manager acting as one user.
type identity struct {
	client client.Client
	rm     *ssa.ResourceManager
}

// New returns a Target for the cluster cfg points at. cfg is copied; QPS and
// Burst come from opts.
func New(cfg *rest.Config, opts Options) (*Target, error) {
	if cfg == nil {
		return nil, errors.New("kubernetes target: no client configuration")
	}
	opts.setDefaults()
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = opts.QPS, opts.Burst
	// One limiter for every client of the target: client-go otherwise gives
	// each API group/version its own, and QPS would not mean the total.
	if cfg.RateLimiter == nil && opts.QPS > 0 {
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(opts.QPS, opts.Burst)
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "steward"
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	mapper, err := apiutil.NewDynamicRESTMapper(cfg, hc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes discovery: %w", err)
	}
	t := &Target{opts: opts, cfg: cfg, http: hc, mapper: mapper, users: map[string]*identity{}}
	if t.own, err = t.newIdentity(cfg, hc); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Target) newIdentity(cfg *rest.Config, hc *http.Client) (*identity, error) {
	c, err := client.New(cfg, client.Options{HTTPClient: hc, Mapper: t.mapper})
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	poller := polling.NewStatusPoller(c, t.mapper, polling.Options{})
	rm := ssa.NewResourceManager(c, poller, ssa.Owner{Field: t.opts.FieldManager, Group: "steward.dev"})
	rm.SetConcurrency(t.opts.Concurrency)
	return &identity{client: c, rm: rm}, nil
}

// identityFor returns the identity a unit applies with: steward's own, or
// the unit's service account ("namespace/name") impersonated.
func (t *Target) identityFor(u *reconcile.Unit) (*identity, error) {
	if u.ServiceAccount == "" {
		return t.own, nil
	}
	ns, name, ok := strings.Cut(u.ServiceAccount, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("unit %s: serviceAccount %q: want namespace/name", u.Name, u.ServiceAccount)
	}
	user := "system:serviceaccount:" + ns + ":" + name
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.users[user]; ok {
		return id, nil
	}
	cfg := rest.CopyConfig(t.cfg)
	// The API server adds the service account's groups itself.
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, fmt.Errorf("impersonate %s: %w", user, err)
	}
	id, err := t.newIdentity(cfg, hc)
	if err != nil {
		return nil, err
	}
	t.users[user] = id
	return id, nil
}
