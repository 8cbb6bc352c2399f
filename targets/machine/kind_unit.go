package machine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

// unitDir is where unit files are written (under the root).
const unitDir = "/etc/systemd/system"

type unitRes struct {
	id   reconcile.ObjectID
	spec UnitSpec
	name string // with its suffix
}

func (r *unitRes) ID() reconcile.ObjectID { return r.id }
func (r *unitRes) ident() string          { return r.name }
func (r *unitRes) watchList() []string    { return r.spec.Watches }

// systemctl asks systemctl a question (is-enabled, is-active) and returns
// its first output line; the exit code only says yes or no.
func (h *host) systemctl(ctx context.Context, verb, unit string) (string, error) {
	res, err := h.run(ctx, "systemctl", verb, unit)
	if err != nil {
		return "", fmt.Errorf("systemctl %s %s: %w", verb, unit, err)
	}
	out := strings.TrimSpace(string(res.Stdout))
	out, _, _ = strings.Cut(out, "\n")
	return out, nil
}

func (r *unitRes) plan(ctx context.Context, h *host, pc *planCtx) (*step, error) {
	st := &step{id: r.id, action: reconcile.Unchanged}
	var lines []string
	fileChanged, absent := false, false
	if r.spec.Content != nil {
		p := h.path(unitDir + "/" + r.name)
		cur, err := h.t.ReadFile(ctx, p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			absent, cur = true, nil
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		want := []byte(*r.spec.Content)
		if absent || !bytes.Equal(cur, want) {
			fileChanged = true
			lines = append(lines, contentDiff(unitDir+"/"+r.name, cur, want, false))
			st.ops = append(st.ops,
				op{kind: opParents, path: p},
				op{kind: opWrite, path: p, content: want, mode: 0o644},
				op{kind: opRun, argv: []string{"systemctl", "daemon-reload"}})
		}
	}
	st.entry = entryFor(pc, r, absent)
	if r.spec.Enabled != nil {
		cur, err := h.systemctl(ctx, "is-enabled", r.name)
		if err != nil {
			return nil, err
		}
		isEnabled := cur == "enabled" || cur == "enabled-runtime" || cur == "static" || cur == "alias"
		switch {
		case *r.spec.Enabled && !isEnabled:
			lines = append(lines, "enable "+r.name)
			st.ops = append(st.ops, op{kind: opRun, argv: []string{"systemctl", "enable", r.name}})
		case !*r.spec.Enabled && isEnabled:
			lines = append(lines, "disable "+r.name)
			st.ops = append(st.ops, op{kind: opRun, argv: []string{"systemctl", "disable", r.name}})
		}
	}
	by := triggeredBy(pc, r.id, r.spec.Watches, "restart")
	if fileChanged {
		by = append([]string{"unit file changed"}, by...)
	}
	if r.spec.State != "" || len(by) > 0 {
		cur, err := h.systemctl(ctx, "is-active", r.name)
		if err != nil {
			return nil, err
		}
		active := cur == "active" || cur == "activating" || cur == "reloading"
		restart := pendingKey(r.id, "restart")
		switch {
		case r.spec.State == "stopped" && active:
			lines = append(lines, "stop "+r.name)
			st.ops = append(st.ops, op{kind: opRun, argv: []string{"systemctl", "stop", r.name}})
		case r.spec.State == "running" && !active:
			lines = append(lines, "start "+r.name)
			st.ops = append(st.ops, op{kind: opRun, argv: []string{"systemctl", "start", r.name}, pending: restartIf(len(by) > 0, restart), journal: r.name})
		case active && len(by) > 0:
			lines = append(lines, fmt.Sprintf("restart %s (%s)", r.name, strings.Join(by, ", ")))
			st.ops = append(st.ops, op{kind: opRun, argv: []string{"systemctl", "restart", r.name}, pending: restart, journal: r.name})
		}
	}
	if len(st.ops) > 0 {
		st.action = reconcile.Configured
		if absent {
			st.action = reconcile.Created
		}
		st.diff = joinLines(lines...)
	}
	return st, nil
}

func restartIf(cond bool, key string) string {
	if cond {
		return key
	}
	return ""
}
