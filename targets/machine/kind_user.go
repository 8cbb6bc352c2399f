package machine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

type userRes struct {
	id   reconcile.ObjectID
	spec UserSpec
}

func (r *userRes) ID() reconcile.ObjectID { return r.id }
func (r *userRes) ident() string          { return r.spec.Name }
func (r *userRes) watchList() []string    { return nil }

// account is a user as getent and id report it.
type account struct {
	uid    int
	home   string
	shell  string
	groups []string // supplementary, sorted
}

// lookupAccount returns nil for a user that does not exist.
func (h *host) lookupAccount(ctx context.Context, name string, withGroups bool) (*account, error) {
	res, err := h.run(ctx, "getent", "passwd", name)
	if err != nil {
		return nil, fmt.Errorf("look up user %s: %w", name, err)
	}
	if res.ExitCode == 2 {
		return nil, nil
	}
	if err := exitError([]string{"getent", "passwd", name}, res); err != nil {
		return nil, err
	}
	f := strings.Split(strings.TrimSpace(string(res.Stdout)), ":")
	if len(f) < 7 {
		return nil, fmt.Errorf("getent passwd %s: unexpected output", name)
	}
	uid, err := strconv.Atoi(f[2])
	if err != nil {
		return nil, fmt.Errorf("getent passwd %s: bad uid %q", name, f[2])
	}
	a := &account{uid: uid, home: f[5], shell: f[6]}
	if !withGroups {
		return a, nil
	}
	primary, err := h.idOut(ctx, "-gn", name)
	if err != nil {
		return nil, err
	}
	all, err := h.idOut(ctx, "-Gn", name)
	if err != nil {
		return nil, err
	}
	for _, g := range strings.Fields(all) {
		if g != primary && !slices.Contains(a.groups, g) {
			a.groups = append(a.groups, g)
		}
	}
	slices.Sort(a.groups)
	return a, nil
}

func (h *host) idOut(ctx context.Context, flag, name string) (string, error) {
	argv := []string{"id", flag, name}
	res, err := h.run(ctx, argv...)
	if err != nil {
		return "", err
	}
	if err := exitError(argv, res); err != nil {
		return "", err
	}
	return strings.TrimSpace(string(res.Stdout)), nil
}

func (r *userRes) plan(ctx context.Context, h *host, pc *planCtx) (*step, error) {
	cur, err := h.lookupAccount(ctx, r.spec.Name, r.spec.Groups != nil)
	if err != nil {
		return nil, err
	}
	st := &step{id: r.id, action: reconcile.Unchanged, entry: entryFor(pc, r, cur == nil)}
	var args, lines []string
	want := slices.Sorted(slices.Values(r.spec.Groups))
	want = slices.Compact(want)
	if r.spec.UID != nil && (cur == nil || cur.uid != *r.spec.UID) {
		args = append(args, "-u", strconv.Itoa(*r.spec.UID))
		lines = append(lines, change("uid", cur != nil, func() string { return strconv.Itoa(cur.uid) }, strconv.Itoa(*r.spec.UID)))
	}
	if r.spec.Groups != nil && (cur == nil || !slices.Equal(cur.groups, want)) {
		args = append(args, "-G", strings.Join(want, ","))
		lines = append(lines, change("groups", cur != nil, func() string { return strings.Join(cur.groups, ",") }, strings.Join(want, ",")))
	}
	if r.spec.Shell != "" && (cur == nil || cur.shell != r.spec.Shell) {
		args = append(args, "-s", r.spec.Shell)
		lines = append(lines, change("shell", cur != nil, func() string { return cur.shell }, r.spec.Shell))
	}
	if r.spec.Home != "" && (cur == nil || cur.home != r.spec.Home) {
		args = append(args, "-d", r.spec.Home)
		if cur == nil {
			args = append(args, "-m")
		}
		lines = append(lines, change("home", cur != nil, func() string { return cur.home }, r.spec.Home))
	}
	switch {
	case cur == nil:
		st.action = reconcile.Created
		st.diff = joinLines(append([]string{"+ user " + r.spec.Name}, lines...)...)
		st.ops = []op{{kind: opRun, argv: append(append([]string{"useradd"}, args...), r.spec.Name), forget: true}}
	case len(args) > 0:
		st.action = reconcile.Configured
		st.diff = joinLines(append([]string{"user " + r.spec.Name + ":"}, lines...)...)
		st.ops = []op{{kind: opRun, argv: append(append([]string{"usermod"}, args...), r.spec.Name), forget: true}}
	}
	return st, nil
}

func change(field string, exists bool, old func() string, new string) string {
	if !exists {
		return field + " " + new
	}
	return fmt.Sprintf("%s %s -> %s", field, old(), new)
}
