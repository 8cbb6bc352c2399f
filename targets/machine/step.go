package machine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

// resource is a decoded machine object.
type resource interface {
	ID() reconcile.ObjectID
	// ident is what the object manages on the host (a path, a unit, a
	// package or user name); with the kind it keys the inventory.
	ident() string
	watchList() []string
	// plan reads the host and returns what apply would do; it changes
	// nothing.
	plan(ctx context.Context, h *host, pc *planCtx) (*step, error)
}

// planCtx is what planning one host's objects shares.
type planCtx struct {
	changed  map[string]bool   // "Kind/name" planned to change, for watchers
	pending  map[string]bool   // pending actions recorded by an earlier run
	prior    map[string]*Entry // inventory entries by key
	accounts map[string]bool   // user names a User object of this plan creates
}

// step is one object's planned change on one host.
type step struct {
	id     reconcile.ObjectID
	action reconcile.Action
	diff   string
	msg    string
	ops    []op
	entry  *Entry // the inventory entry once applied; nil to drop it
	prune  bool   // a prune step: success removes the entry
	key    string // inventory key of the entry it concerns
}

type opKind int

const (
	opWrite   opKind = iota // write content to path atomically
	opMkdir                 // create the directory path
	opParents               // create missing parents of path (0755)
	opAttrs                 // set mode/owner/group of path
	opRemove                // remove path
	opRun                   // run argv, non-zero exit fails
	opRefresh               // refresh the package index (once per run of a host)
)

// op is one primitive change. Owner and group are names (or numeric
// strings) resolved when the op runs, so a User created earlier in the same
// apply can own a file.
type op struct {
	kind    opKind
	path    string // under the root already
	content []byte
	mode    fs.FileMode
	owner   string
	group   string
	argv    []string
	env     map[string]string
	dir     string
	pending string // pending action this op performs
	forget  bool   // user database changed: drop cached ids
	pkg     string // a package manager run: its errors quote the manager
	// pkgName and pkgVersion are what an apt install asks for: after a
	// refresh of the index the version is looked up again ("1.0" -> "1.0-1").
	pkgName, pkgVersion string
	journal             string // a systemd unit started: its failure quotes the unit's journal
}

// exec performs op on h.
func (o *op) exec(ctx context.Context, h *host) error {
	switch o.kind {
	case opWrite, opMkdir, opAttrs:
		attrs, err := h.attrs(ctx, o.mode, o.owner, o.group)
		if err != nil {
			return err
		}
		switch o.kind {
		case opWrite:
			if err := h.t.WriteFile(ctx, o.path, bytes.NewReader(o.content), attrs); err != nil {
				return fmt.Errorf("write %s: %w", o.path, err)
			}
		case opMkdir:
			if err := h.t.Mkdir(ctx, o.path, attrs); err != nil {
				return fmt.Errorf("mkdir %s: %w", o.path, err)
			}
			// Mkdir leaves an existing directory alone; make attrs exact.
			if err := h.t.SetAttrs(ctx, o.path, attrs); err != nil {
				return fmt.Errorf("set attributes of %s: %w", o.path, err)
			}
		default:
			if err := h.t.SetAttrs(ctx, o.path, attrs); err != nil {
				return fmt.Errorf("set attributes of %s: %w", o.path, err)
			}
		}
	case opParents:
		return h.mkdirParents(ctx, o.path)
	case opRemove:
		if err := h.t.Remove(ctx, o.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", o.path, err)
		}
	case opRefresh:
		return h.refreshIndex(ctx)
	case opRun:
		return o.run(ctx, h)
	}
	return nil
}

func (o *op) run(ctx context.Context, h *host) error {
	argv := o.argv
	if o.pkg == PackageManagerApt && o.pkgVersion != "" && h.refreshed {
		if full, known, err := h.aptVersion(ctx, o.pkgName, o.pkgVersion); err == nil && known {
			argv = append(slices.Clone(argv[:len(argv)-1]), pkgRef(o.pkg, o.pkgName, full))
		}
	}
	res, err := h.runEnv(ctx, o.env, o.dir, argv)
	if err != nil {
		return err
	}
	if o.pkg == PackageManagerDnf && res.ExitCode != 0 && !h.refreshed {
		// dnf's index is checked by failing: refresh it once, then retry.
		if err := h.refreshIndex(ctx); err != nil {
			return err
		}
		if res, err = h.runEnv(ctx, o.env, o.dir, argv); err != nil {
			return err
		}
	}
	switch {
	case o.pkg != "":
		err = packageError(argv, res)
	default:
		err = exitError(argv, res)
	}
	if err != nil && o.journal != "" {
		if tail := h.journalTail(ctx, o.journal); tail != "" {
			err = fmt.Errorf("%w\njournal of %s:\n%s", err, o.journal, tail)
		}
	}
	if err != nil {
		return err
	}
	if o.forget {
		h.forget()
	}
	return nil
}

// isDir reports whether p is a directory on the host now.
func (h *host) isDir(ctx context.Context, p string) bool {
	fi, err := h.stat(ctx, p)
	return err == nil && fi != nil && fi.IsDir()
}

// attrs resolves names into FileAttrs (-1 for unset ids).
func (h *host) attrs(ctx context.Context, mode fs.FileMode, owner, group string) (FileAttrs, error) {
	a := FileAttrs{Mode: mode, UID: -1, GID: -1}
	var err error
	if owner != "" {
		if a.UID, err = h.lookupID(ctx, "passwd", owner); err != nil {
			return a, err
		}
	}
	if group != "" {
		if a.GID, err = h.lookupID(ctx, "group", group); err != nil {
			return a, err
		}
	}
	return a, nil
}

// mkdirParents creates the missing directories above p, below the root.
func (h *host) mkdirParents(ctx context.Context, p string) error {
	var missing []string
	for d := path.Dir(p); d != "/" && d != "."; d = path.Dir(d) {
		fi, err := h.stat(ctx, d)
		if err != nil {
			return err
		}
		if fi != nil {
			if !fi.IsDir() {
				return fmt.Errorf("%s is not a directory", d)
			}
			break
		}
		missing = append(missing, d)
	}
	for _, d := range slices.Backward(missing) {
		if err := h.t.Mkdir(ctx, d, FileAttrs{Mode: 0o755, UID: -1, GID: -1}); err != nil {
			return fmt.Errorf("mkdir %s: %w", d, err)
		}
	}
	return nil
}

// attrPlan compares a file's or directory's attributes with what is wanted.
// It returns the diff lines and whether anything differs. An owner or group
// that does not exist yet but is created by a User of this plan differs.
func attrPlan(ctx context.Context, h *host, pc *planCtx, id reconcile.ObjectID, fi *FileInfo, mode uint32, owner, group string) ([]string, bool, error) {
	var lines []string
	differs := false
	if mode != 0 && (fi == nil || uint32(fi.Mode.Perm()) != mode) {
		if fi == nil {
			lines = append(lines, fmt.Sprintf("mode %04o", mode))
		} else {
			lines = append(lines, fmt.Sprintf("mode %04o -> %04o", uint32(fi.Mode.Perm()), mode))
		}
		differs = true
	}
	for _, a := range []struct{ field, db, name string }{{"owner", "passwd", owner}, {"group", "group", group}} {
		if a.name == "" {
			continue
		}
		want, err := h.lookupID(ctx, a.db, a.name)
		if errors.Is(err, errNoSuchID) && pc.accounts[a.name] {
			lines = append(lines, fmt.Sprintf("%s %s (created by User/%s)", a.field, a.name, a.name))
			differs = true
			continue
		}
		if err != nil {
			return nil, false, &SpecError{Object: id, Field: "spec." + a.field, Msg: err.Error()}
		}
		cur := -1
		if fi != nil {
			cur = fi.UID
			if a.field == "group" {
				cur = fi.GID
			}
		}
		if cur != want {
			if fi == nil {
				lines = append(lines, fmt.Sprintf("%s %s", a.field, a.name))
			} else {
				lines = append(lines, fmt.Sprintf("%s %d -> %s (%d)", a.field, cur, a.name, want))
			}
			differs = true
		}
	}
	return lines, differs, nil
}

// entryFor returns the inventory entry of an object after apply: created
// stays true while the object stays declared; otherwise it is whether the
// thing was absent before.
func entryFor(pc *planCtx, r resource, absent bool) *Entry {
	e := &Entry{Kind: r.ID().Kind, Name: r.ID().Name, Ident: r.ident(), Created: absent}
	if p := pc.prior[e.key()]; p != nil && p.Created {
		e.Created = true
	}
	return e
}

func pendingKey(id reconcile.ObjectID, action string) string {
	return objName(id) + " " + action
}

// triggeredBy lists the watched objects that changed, and whether a pending
// action of the same name is recorded.
func triggeredBy(pc *planCtx, id reconcile.ObjectID, watches []string, action string) []string {
	var by []string
	for _, w := range watches {
		if pc.changed[w] {
			by = append(by, w+" changed")
		}
	}
	if pc.pending[pendingKey(id, action)] {
		by = append(by, "pending from an earlier run")
	}
	return by
}

func joinLines(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, strings.TrimRight(p, "\n"))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return strings.Join(out, "\n") + "\n"
}
