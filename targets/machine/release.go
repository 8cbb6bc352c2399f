package machine

import (
	"context"
	"errors"
	"fmt"

	"github.com/stewardhq/steward/reconcile"
)

var _ reconcile.ReleaseRecorder = (*Target)(nil)

// ReleaseMark returns u's release mark, read from its inventory on every
// host. Hosts that disagree (a mark written to some of them) yield the
// first host's mark with an empty Hash: the wave runs no one revision.
func (t *Target) ReleaseMark(ctx context.Context, u *reconcile.Unit) (*reconcile.ReleaseMark, error) {
	if !unitFileName.MatchString(u.Name) {
		return nil, fmt.Errorf("machine target: unit name %q cannot name an inventory file", u.Name)
	}
	marks := make([]*reconcile.ReleaseMark, len(t.cfg.Hosts))
	errs := make([]error, len(t.cfg.Hosts))
	t.forHosts(ctx, len(t.cfg.Hosts), func(ctx context.Context, i int) {
		name := t.cfg.Hosts[i]
		err := t.onHost(ctx, name, func(h *host) error {
			inv, err := readInventory(ctx, h, u.Name)
			if err != nil {
				return err
			}
			if err := reconcile.CheckInventoryOwner("host "+name, u.Name, inv.Stack, u.StackName()); err != nil {
				return err
			}
			marks[i] = inv.Release
			return nil
		})
		if err != nil {
			errs[i] = fmt.Errorf("host %s: %w", name, err)
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return mergeMarks(marks), nil
}

// mergeMarks is the mark of a wave from its hosts' marks: the one they
// share; a failure on any host; else the first with an empty Hash.
func mergeMarks(marks []*reconcile.ReleaseMark) *reconcile.ReleaseMark {
	if len(marks) == 0 || marks[0] == nil {
		for _, m := range marks {
			if m != nil {
				c := *m
				c.Hash = ""
				return &c
			}
		}
		return nil
	}
	out := *marks[0]
	for _, m := range marks[1:] {
		switch {
		case m == nil || m.Hash != out.Hash:
			out.Hash = ""
		case m.Failed != "" && out.Failed == "":
			out.Failed, out.FailedAt = m.Failed, m.FailedAt
		case m.HealthySince.After(out.HealthySince):
			out.HealthySince = m.HealthySince
		}
	}
	return &out
}

// SetReleaseMark records m as u's release mark in its inventory on every
// host, creating the inventory where the unit has none yet. Another
// stack's inventory is refused. Every host is tried; the error names those
// that failed.
func (t *Target) SetReleaseMark(ctx context.Context, u *reconcile.Unit, m *reconcile.ReleaseMark) error {
	return t.updateInventories(ctx, u, func(inv *Inventory) bool {
		inv.Release = m
		return true
	})
}
