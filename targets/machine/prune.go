package machine

import (
	"context"
	"fmt"

	"github.com/stewardhq/steward/reconcile"
)

// notCreated is the message for an orphan steward adopted rather than created.
const notCreated = "no longer declared; left in place (it existed before steward managed it)"

// planPrune plans the removal of an entry the unit no longer declares. Only
// what steward created is removed; anything else is forgotten.
func planPrune(ctx context.Context, h *host, e *Entry) (*step, error) {
	st := &step{id: e.id(), action: reconcile.Unchanged, prune: true, key: e.key()}
	if !e.Created {
		if e.Kind != KindCommand {
			st.msg = notCreated
		}
		return st, nil
	}
	switch e.Kind {
	case KindFile, KindDirectory:
		p := h.path(e.Ident)
		fi, err := h.stat(ctx, p)
		if err != nil || fi == nil {
			return st, err
		}
		if e.Kind == KindDirectory && !fi.IsDir() || e.Kind == KindFile && fi.IsDir() {
			st.msg = fmt.Sprintf("%s changed type; left in place", e.Ident)
			return st, nil
		}
		st.ops = []op{{kind: opRemove, path: p}}
		st.diff = fmt.Sprintf("- %s %s\n", lower(e.Kind), e.Ident)
	case KindUnit:
		p := h.path(unitDir + "/" + e.Ident)
		fi, err := h.stat(ctx, p)
		if err != nil || fi == nil {
			return st, err
		}
		st.ops = []op{
			{kind: opRun, argv: []string{"systemctl", "disable", "--now", e.Ident}},
			{kind: opRemove, path: p},
			{kind: opRun, argv: []string{"systemctl", "daemon-reload"}},
		}
		st.diff = fmt.Sprintf("- unit %s (stop, disable, remove %s/%s)\n", e.Ident, unitDir, e.Ident)
	case KindPackage:
		pm, err := h.packageManager(ctx)
		if err != nil {
			return nil, err
		}
		v, err := h.installedVersion(ctx, pm, e.Ident)
		if err != nil || v == "" {
			return st, err
		}
		st.ops = []op{h.removePackage(pm, e.Ident)}
		st.diff = fmt.Sprintf("- package %s %s\n", e.Ident, v)
	case KindUser:
		a, err := h.lookupAccount(ctx, e.Ident, false)
		if err != nil || a == nil {
			return st, err
		}
		st.ops = []op{{kind: opRun, argv: []string{"userdel", e.Ident}, forget: true}}
		st.diff = fmt.Sprintf("- user %s\n", e.Ident)
	}
	if len(st.ops) > 0 {
		st.action = reconcile.Deleted
	}
	return st, nil
}

func lower(kind string) string {
	switch kind {
	case KindFile:
		return "file"
	case KindDirectory:
		return "directory"
	}
	return kind
}
