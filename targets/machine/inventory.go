package machine

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sync"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// InventoryDir is where each host keeps the units' inventories, under the
// target's root.
const InventoryDir = "/var/lib/steward"

// Inventory is what one unit applied to one host, kept on the host at
// <root>/var/lib/steward/<unit>.json.
type Inventory struct {
	Unit string `json:"unit"`
	// Stack is the identity of the stack the unit belongs to: another
	// stack's unit of the same name is refused, and the inventory left as
	// it is. Empty in inventories written before stacks had one.
	Stack string `json:"stack,omitempty"`
	// Prune and AllowEmpty are the unit's, as last applied: what becomes
	// of the unit's objects once the stack drops it.
	Prune      bool `json:"prune,omitempty"`
	AllowEmpty bool `json:"allowEmpty,omitempty"`
	// Suspended is a suspension set through steward's API: it outlives
	// a restart of steward.
	Suspended bool `json:"suspended,omitempty"`
	// Release is where a progressive release stands on the host, for a
	// wave unit (reconcile.ReleaseRecorder).
	Release *reconcile.ReleaseMark `json:"release,omitempty"`
	// Revision is the revision last applied, successfully or not.
	Revision string `json:"revision"`
	// Status of that apply: applied, failed or rolledBack.
	Status    string    `json:"status"`
	AppliedAt time.Time `json:"appliedAt"`
	// Entries are the things the unit manages on the host.
	Entries []Entry `json:"entries"`
	// Pending are actions (a unit restart, a watch-triggered command)
	// decided by a run that have not run yet: "Unit/web restart".
	Pending []string `json:"pending,omitempty"`
	// LastGood is the last revision that applied and passed its health
	// check, with its objects, for rollback.
	LastGood *GoodRevision `json:"lastGood,omitempty"`
	// Failed names the revision that failed its health check and was
	// rolled back, when Status is rolledBack; FailedAt and FailedReason say
	// when and why. That revision is not applied to the host again until
	// another revision arrives or a manual sync asks for it (reconcile.RetryHeld).
	Failed       string     `json:"failed,omitempty"`
	FailedAt     *time.Time `json:"failedAt,omitempty"`
	FailedReason string     `json:"failedReason,omitempty"`
}

// held says why rev is not applied to the host: it failed its health check
// there and was rolled back. "" when it may be applied.
func (inv *Inventory) held(rev string) string {
	if inv.Status != StatusRolledBack || inv.Failed == "" || inv.Failed != rev {
		return ""
	}
	at := ""
	if inv.FailedAt != nil {
		at = " at " + inv.FailedAt.Format(time.RFC3339)
	}
	return fmt.Sprintf("rolled back from revision %s%s: %s; not applied again until a new revision or a manual sync", rev, at, inv.FailedReason)
}

// stackOf is the identity of the stack of req's unit.
func stackOf(req reconcile.ApplyRequest) string {
	if req.Unit == nil {
		return ""
	}
	return req.Unit.StackName()
}

// GoodRevision is a revision that applied and passed its health check.
type GoodRevision struct {
	Revision string `json:"revision"`
	// Objects is the JSON array of the revision's objects, decoded only
	// for a rollback: every plan reads the inventory, and decoding them
	// there was a sixth of a no-op drift pass. Nil in the inventory a
	// plan gets (planInventory): they stay on the host.
	Objects json.RawMessage `json:"objects"`
}

// goodRevision records objs as the last good revision rev.
func goodRevision(rev string, objs []*reconcile.Object) (*GoodRevision, error) {
	maps := make([]map[string]any, len(objs))
	for i, o := range objs {
		maps[i] = o.Object
	}
	b, err := json.Marshal(maps)
	if err != nil {
		return nil, fmt.Errorf("last good revision %s: %w", rev, err)
	}
	return &GoodRevision{Revision: rev, Objects: b}, nil
}

// lastGoodObjects returns the objects of inv's last good revision, read
// from h when inv was planned without them (planInventory).
func lastGoodObjects(ctx context.Context, h *host, inv *Inventory) ([]*reconcile.Object, error) {
	if inv.LastGood.Objects == nil {
		cur, err := readInventory(ctx, h, inv.Unit)
		if err != nil {
			return nil, err
		}
		if cur.LastGood == nil || cur.LastGood.Revision != inv.LastGood.Revision {
			return nil, fmt.Errorf("the inventory on the host no longer holds revision %s", inv.LastGood.Revision)
		}
		inv.LastGood = cur.LastGood
	}
	return inv.LastGood.objects()
}

// objects decodes the revision's objects.
func (g *GoodRevision) objects() ([]*reconcile.Object, error) {
	var maps []map[string]any
	if err := json.Unmarshal(g.Objects, &maps); err != nil {
		return nil, fmt.Errorf("last good revision %s: %w", g.Revision, err)
	}
	objs := make([]*reconcile.Object, len(maps))
	for i, m := range maps {
		objs[i] = &reconcile.Object{Object: m}
	}
	return objs, nil
}

// Inventory statuses.
const (
	StatusApplied    = "applied"
	StatusFailed     = "failed"
	StatusRolledBack = "rolledBack"
)

// Entry is one thing a unit manages. Created says steward created it (it
// was absent when first applied); only created things are pruned.
type Entry struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`  // the object's metadata.name
	Ident   string `json:"ident"` // path, unit, package or user name
	Created bool   `json:"created,omitempty"`
}

func (e *Entry) key() string { return e.Kind + ":" + e.Ident }

func (e *Entry) id() reconcile.ObjectID {
	return reconcile.ObjectID{Group: machineGroup, Kind: e.Kind, Name: e.Name}
}

// machineGroup is the API group of the machine kinds.
const machineGroup = "machine.steward.dev"

var unitFileName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func inventoryPath(h *host, unit string) string {
	return h.path(path.Join(InventoryDir, unit+".json"))
}

// readInventory returns the unit's inventory on h, an empty one when there
// is none yet.
func readInventory(ctx context.Context, h *host, unit string) (*Inventory, error) {
	var inv Inventory
	found, err := decodeInventory(ctx, h, unit, &inv, &inv.Unit)
	if err != nil {
		return nil, err
	}
	if !found {
		return &Inventory{Unit: unit}, nil
	}
	return &inv, nil
}

// decodeInventory decodes the unit's inventory file on h into v, whose
// unit field is owner, and checks the file is that unit's. It reports
// false when there is no such file.
func decodeInventory(ctx context.Context, h *host, unit string, v any, owner *string) (bool, error) {
	p := inventoryPath(h, unit)
	data, err := h.t.ReadFile(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read inventory %s: %w", p, err)
	}
	return true, parseInventory(p, unit, data, v, owner)
}

// parseInventory decodes data, the inventory file p, into v, whose unit
// field is owner, and checks the file is unit's.
func parseInventory(p, unit string, data []byte, v any, owner *string) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("inventory %s: %w", p, err)
	}
	if *owner != unit {
		return fmt.Errorf("inventory %s belongs to unit %q", p, *owner)
	}
	return nil
}

// inventoryCache keeps the inventories plans decoded, by host and file,
// each with the SHA-256 of the bytes it was decoded from. Every plan reads
// its unit's inventory, and decoding it was a quarter of what a no-op drift
// pass allocated: a plan takes the kept one when the transport sees the
// file unchanged (FileSumReader) or reads the same bytes again. A kept
// inventory is never changed: an apply works on a clone.
type inventoryCache struct {
	mu sync.Mutex
	m  map[string]keptInventory
}

type keptInventory struct {
	sum [sha256.Size]byte
	inv *Inventory
}

// planInventory is readInventory for a plan, through t's inventory cache;
// the inventory it returns is shared and must not be changed.
func (t *Target) planInventory(ctx context.Context, h *host, unit string) (*Inventory, error) {
	p := inventoryPath(h, unit)
	key := inventoryKey(h, p)
	kept := t.invs.get(key)
	var data []byte
	var err error
	if r, ok := h.t.(FileSumReader); ok {
		var same bool
		data, same, err = r.ReadFileUnlessSum(ctx, p, kept.sum)
		if same && err == nil && kept.inv != nil {
			return kept.inv, nil
		}
	} else {
		data, err = h.t.ReadFile(ctx, p)
	}
	if errors.Is(err, fs.ErrNotExist) {
		t.invs.drop(key)
		return &Inventory{Unit: unit}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read inventory %s: %w", p, err)
	}
	sum := sha256.Sum256(data)
	if kept.inv != nil && sum == kept.sum {
		return kept.inv, nil
	}
	// Decoded without the last good objects, which are most of the file:
	// a rollback and the next write of the inventory take them from the
	// host (lastGoodObjects, writeApplied). This LastGood hides the
	// Inventory's (encoding/json takes the shallower field).
	var v struct {
		Inventory
		LastGood *struct {
			Revision string      `json:"revision"`
			Objects  skippedJSON `json:"objects"`
		} `json:"lastGood,omitempty"`
	}
	if err := parseInventory(p, unit, data, &v, &v.Unit); err != nil {
		t.invs.drop(key)
		return nil, err
	}
	inv := &v.Inventory
	if v.LastGood != nil {
		inv.LastGood = &GoodRevision{Revision: v.LastGood.Revision}
	}
	t.invs.put(key, keptInventory{sum: sum, inv: inv})
	return inv, nil
}

// skippedJSON is a value decoded without being kept: encoding/json checks
// it and hands it over without a copy.
type skippedJSON struct{}

func (*skippedJSON) UnmarshalJSON([]byte) error { return nil }

// inventoryKey names the inventory file p on h in the cache.
func inventoryKey(h *host, p string) string {
	return h.name + "\x00" + p
}

func (c *inventoryCache) get(key string) keptInventory {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *inventoryCache) put(key string, k keptInventory) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]keptInventory{}
	}
	c.m[key] = k
}

func (c *inventoryCache) drop(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// writeInventory replaces the inventory atomically (mode 0600: it holds
// the last good objects).
func writeInventory(ctx context.Context, h *host, inv *Inventory) error {
	data, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		return err
	}
	p := inventoryPath(h, inv.Unit)
	if err := h.mkdirParents(ctx, p); err != nil {
		return fmt.Errorf("write inventory: %w", err)
	}
	if err := h.t.WriteFile(ctx, p, bytes.NewReader(append(data, '\n')), FileAttrs{Mode: 0o600, UID: -1, GID: -1}); err != nil {
		return fmt.Errorf("write inventory %s: %w", p, err)
	}
	return nil
}

// lockInventory locks the inventory of unit on host against this process's
// other writers and returns its unlock.
func (t *Target) lockInventory(host, unit string) func() {
	m, _ := t.invLocks.LoadOrStore(host+"\x00"+unit, new(sync.Mutex))
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

// writeApplied writes the inventory an apply built from the one it planned
// with, keeping the suspension and release mark recorded on the host now:
// SetSuspended and SetReleaseMark may have changed them since the plan read
// the inventory.
func (t *Target) writeApplied(ctx context.Context, h *host, inv *Inventory) error {
	defer t.lockInventory(h.name, inv.Unit)()
	cur, err := readInventory(ctx, h, inv.Unit)
	if err != nil {
		return err
	}
	inv.Suspended, inv.Release = cur.Suspended, cur.Release
	if inv.LastGood != nil && inv.LastGood.Objects == nil {
		// Planned with a kept inventory, and no new last good revision:
		// the host's stays.
		inv.LastGood = cur.LastGood
	}
	return writeInventory(ctx, h, inv)
}

// ReadInventory reads a unit's inventory through t under root; for tools
// and tests. A host without one yields an empty inventory.
func ReadInventory(ctx context.Context, t Transport, root, unit string) (*Inventory, error) {
	return readInventory(ctx, newHost(t, t.Host(), root, nil, ""), unit)
}
