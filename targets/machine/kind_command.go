package machine

import (
	"context"
	"fmt"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

type commandRes struct {
	id   reconcile.ObjectID
	spec CommandSpec
}

func (r *commandRes) ID() reconcile.ObjectID { return r.id }
func (r *commandRes) ident() string          { return r.id.Name }
func (r *commandRes) watchList() []string    { return r.spec.Watches }

// plan evaluates the guards: creates is a stat, unless and onlyIf run on
// the host (they must be read-only probes).
func (r *commandRes) plan(ctx context.Context, h *host, pc *planCtx) (*step, error) {
	st := &step{id: r.id, action: reconcile.Unchanged, entry: entryFor(pc, r, false)}
	var why []string
	pending := ""
	if len(r.spec.Watches) > 0 {
		by := triggeredBy(pc, r.id, r.spec.Watches, "run")
		if len(by) == 0 {
			st.msg = "no watched object changed"
			return st, nil
		}
		why = append(why, by...)
		pending = pendingKey(r.id, "run")
	}
	if r.spec.Creates != "" {
		fi, err := h.stat(ctx, h.path(r.spec.Creates))
		if err != nil {
			return nil, err
		}
		if fi != nil {
			st.msg = r.spec.Creates + " exists"
			return st, nil
		}
		why = append(why, r.spec.Creates+" does not exist")
	}
	if len(r.spec.Unless) > 0 {
		res, err := h.runEnv(ctx, r.spec.Env, r.spec.Dir, r.spec.Unless)
		if err != nil {
			return nil, fmt.Errorf("unless guard: %w", err)
		}
		if res.ExitCode == 0 {
			st.msg = "unless guard succeeded"
			return st, nil
		}
		why = append(why, "unless guard failed")
	}
	if len(r.spec.OnlyIf) > 0 {
		res, err := h.runEnv(ctx, r.spec.Env, r.spec.Dir, r.spec.OnlyIf)
		if err != nil {
			return nil, fmt.Errorf("onlyIf guard: %w", err)
		}
		if res.ExitCode != 0 {
			st.msg = "onlyIf guard failed"
			return st, nil
		}
		why = append(why, "onlyIf guard succeeded")
	}
	st.action = reconcile.Configured
	st.diff = fmt.Sprintf("run %s (%s)\n", strings.Join(r.spec.Run, " "), strings.Join(why, ", "))
	st.ops = []op{{kind: opRun, argv: r.spec.Run, env: r.spec.Env, dir: r.spec.Dir, pending: pending, forget: true}}
	return st, nil
}
