package machine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

type packageRes struct {
	id   reconcile.ObjectID
	spec PackageSpec
}

func (r *packageRes) ID() reconcile.ObjectID { return r.id }
func (r *packageRes) ident() string          { return r.spec.Name }
func (r *packageRes) watchList() []string    { return nil }

// Package managers steward drives.
const (
	PackageManagerApt = "apt"
	PackageManagerDnf = "dnf"
)

// packageManager detects apt or dnf on the host once (apt-get first).
func (h *host) packageManager(ctx context.Context) (string, error) {
	if h.pkgMgr != "" {
		return h.pkgMgr, nil
	}
	for _, pm := range []struct{ name, prog string }{{PackageManagerApt, "apt-get"}, {PackageManagerDnf, "dnf"}} {
		res, err := h.run(ctx, pm.prog, "--version")
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if err == nil && res.ExitCode == 0 {
			h.pkgMgr = pm.name
			return pm.name, nil
		}
	}
	return "", errors.New("no package manager on the host: want apt-get or dnf")
}

// installedVersion returns the installed version of name, "" when it is not
// installed.
func (h *host) installedVersion(ctx context.Context, pm, name string) (string, error) {
	switch pm {
	case PackageManagerApt:
		res, err := h.run(ctx, "dpkg-query", "-W", "-f=${Status}\t${Version}", name)
		if err != nil {
			return "", err
		}
		if res.ExitCode != 0 {
			return "", nil // unknown to dpkg
		}
		status, version, _ := strings.Cut(strings.TrimSpace(string(res.Stdout)), "\t")
		if f := strings.Fields(status); len(f) == 3 && f[2] == "installed" {
			return version, nil
		}
		return "", nil
	default:
		res, err := h.run(ctx, "rpm", "-q", "--qf", "%{VERSION}-%{RELEASE}", name)
		if err != nil {
			return "", err
		}
		if res.ExitCode != 0 {
			return "", nil
		}
		return strings.TrimSpace(string(res.Stdout)), nil
	}
}

// versionMatches accepts the exact version or the version with a release
// suffix ("1.2" matches "1.2-3").
func versionMatches(installed, want string) bool {
	return want == "" || installed == want || strings.HasPrefix(installed, want+"-")
}

// aptVersion looks name up in apt's package index: whether it is known
// (has a candidate, or, with a version, that version in its table) and the
// full version that matches the wanted one ("1.0" finds "1.0-1"), which is
// what apt-get install needs.
func (h *host) aptVersion(ctx context.Context, name, version string) (string, bool, error) {
	res, err := h.run(ctx, "apt-cache", "policy", name)
	if err != nil {
		return "", false, err
	}
	if res.ExitCode != 0 {
		return "", false, nil
	}
	candidate := false
	for _, l := range strings.Split(string(res.Stdout), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "***"))
		switch {
		case len(f) == 2 && f[0] == "Candidate:":
			candidate = f[1] != "(none)"
		case version != "" && len(f) == 2 && versionMatches(f[0], version):
			if _, err := strconv.Atoi(f[1]); err == nil { // "VERSION PRIORITY" of the table
				return f[0], true, nil
			}
		}
	}
	return version, candidate && version == "", nil
}

// indexStale reports whether the host's apt index is older than maxAge:
// the newer of the lists directory and steward's own refresh stamp.
func (h *host) indexStale(ctx context.Context, maxAge time.Duration) (bool, error) {
	if maxAge <= 0 {
		return false, nil
	}
	newest := time.Time{}
	for _, p := range []string{"/var/lib/apt/lists", h.refreshStamp()} {
		fi, err := h.stat(ctx, p)
		if err != nil {
			return false, err
		}
		if fi != nil && fi.ModTime.After(newest) {
			newest = fi.ModTime
		}
	}
	return time.Since(newest) > maxAge, nil
}

// refreshStamp is touched after steward refreshed the apt index.
func (h *host) refreshStamp() string {
	return h.path(path.Join(InventoryDir, ".package-index-refreshed"))
}

func (r *packageRes) plan(ctx context.Context, h *host, pc *planCtx) (*step, error) {
	pm, err := h.packageManager(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := h.installedVersion(ctx, pm, r.spec.Name)
	if err != nil {
		return nil, fmt.Errorf("query package %s: %w", r.spec.Name, err)
	}
	st := &step{id: r.id, action: reconcile.Unchanged, entry: entryFor(pc, r, cur == "")}
	var install bool
	switch {
	case r.spec.State == "absent" && cur != "":
		st.action = reconcile.Configured
		st.diff = fmt.Sprintf("remove package %s %s\n", r.spec.Name, cur)
		st.ops = []op{h.removePackage(pm, r.spec.Name)}
		st.entry = nil
	case r.spec.State == "absent":
		st.entry = nil
	case cur == "":
		install = true
		st.action = reconcile.Created
		st.diff = fmt.Sprintf("install package %s", pkgRef(pm, r.spec.Name, r.spec.Version))
	case !versionMatches(cur, r.spec.Version):
		install = true
		st.action = reconcile.Configured
		verb := "change"
		if compareVersions(r.spec.Version, cur) < 0 {
			verb = "downgrade"
		}
		st.diff = fmt.Sprintf("%s package %s %s -> %s", verb, r.spec.Name, cur, r.spec.Version)
	}
	if !install {
		return st, nil
	}
	version, why, err := h.needsRefresh(ctx, pm, r.spec.Name, r.spec.Version)
	if err != nil {
		return nil, err
	}
	if why != "" {
		st.diff += " (refreshing the package index first: " + why + ")"
		st.ops = append(st.ops, op{kind: opRefresh})
	}
	st.diff += "\n"
	st.ops = append(st.ops, h.installPackage(pm, r.spec.Name, version, compareVersions(r.spec.Version, cur) < 0 && cur != ""))
	return st, nil
}

// needsRefresh says why the package index must be refreshed before
// installing name: apt does not know it (at that version), or the index is
// older than the configured maximum age; and the version to install (apt's
// full version when it knows it). dnf refreshes on a failed install instead
// (see op.run).
func (h *host) needsRefresh(ctx context.Context, pm, name, version string) (string, string, error) {
	if pm != PackageManagerApt {
		return version, "", nil
	}
	full, known, err := h.aptVersion(ctx, name, version)
	if err != nil {
		return "", "", fmt.Errorf("query package %s: %w", name, err)
	}
	if !known {
		return version, pkgRef(pm, name, version) + " is not in it", nil
	}
	stale, err := h.indexStale(ctx, h.cacheMaxAge)
	if err != nil {
		return "", "", err
	}
	if stale {
		return full, fmt.Sprintf("older than %s", h.cacheMaxAge), nil
	}
	return full, "", nil
}

func pkgRef(pm, name, version string) string {
	switch {
	case version == "":
		return name
	case pm == PackageManagerApt:
		return name + "=" + version
	default:
		return name + "-" + version
	}
}

// aptLock makes apt wait for the dpkg lock another process holds, up to the
// target's bound, instead of failing at once.
func (h *host) aptLock() []string {
	return []string{"-o", "DPkg::Lock::Timeout=" + strconv.Itoa(int(h.lockTimeout.Seconds()))}
}

var aptEnv = map[string]string{"DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}

func (h *host) installPackage(pm, name, version string, downgrade bool) op {
	if pm == PackageManagerApt {
		argv := append([]string{"apt-get", "install", "-y", "-q", "--no-install-recommends", "--allow-downgrades"}, h.aptLock()...)
		return op{kind: opRun, env: aptEnv, pkg: pm, argv: append(argv, pkgRef(pm, name, version)), pkgName: name, pkgVersion: version}
	}
	verb := "install"
	if downgrade {
		verb = "downgrade"
	}
	return op{kind: opRun, pkg: pm, argv: []string{"dnf", verb, "-y", "-q", pkgRef(pm, name, version)}}
}

func (h *host) removePackage(pm, name string) op {
	if pm == PackageManagerApt {
		return op{kind: opRun, env: aptEnv, pkg: pm, argv: append(append([]string{"apt-get", "remove", "-y", "-q"}, h.aptLock()...), name)}
	}
	return op{kind: opRun, pkg: pm, argv: []string{"dnf", "remove", "-y", "-q", name}}
}

// refreshIndex refreshes the package index, at most once per run of a host.
func (h *host) refreshIndex(ctx context.Context) error {
	if h.refreshed {
		return nil
	}
	pm, err := h.packageManager(ctx)
	if err != nil {
		return err
	}
	argv := []string{"dnf", "makecache", "-q"}
	var env map[string]string
	if pm == PackageManagerApt {
		argv, env = append([]string{"apt-get", "update", "-q"}, h.aptLock()...), aptEnv
	}
	res, err := h.runEnv(ctx, env, "", argv)
	if err != nil {
		return err
	}
	h.refreshed = true
	if err := packageError(argv, res); err != nil {
		return fmt.Errorf("refresh the package index: %w", err)
	}
	if pm == PackageManagerApt {
		stamp := h.refreshStamp()
		if err := h.mkdirParents(ctx, stamp); err == nil {
			_ = h.t.WriteFile(ctx, stamp, strings.NewReader(time.Now().UTC().Format(time.RFC3339)+"\n"), FileAttrs{Mode: 0o644, UID: -1, GID: -1})
		}
	}
	return nil
}

// packageError is a failed package manager run with the manager's own
// error lines ("E: ..." from apt, "Error: ..." from dnf), or its last line.
func packageError(argv []string, res *CmdResult) error {
	if res.ExitCode == 0 {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(string(res.Stderr), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "E: ") || strings.HasPrefix(l, "Error: ") || strings.HasPrefix(l, "No match for argument") {
			lines = append(lines, l)
		}
	}
	e := &CommandError{Argv: argv, ExitCode: res.ExitCode, Stderr: lastLine(res.Stderr)}
	if len(lines) > 0 {
		e.Stderr = strings.Join(lines, "; ")
	}
	return e
}

// compareVersions orders package versions the way dpkg and rpm roughly
// do: digit runs numerically, other runs lexically, "~" before anything.
// It only decides between install and downgrade wording and dnf's verb.
func compareVersions(a, b string) int {
	if a == "" || b == "" {
		return 0
	}
	for a != "" || b != "" {
		na, ra := versionRun(a)
		nb, rb := versionRun(b)
		if c := compareRun(na, nb); c != 0 {
			return c
		}
		a, b = ra, rb
	}
	return 0
}

func versionRun(s string) (string, string) {
	if s == "" {
		return "", ""
	}
	digit := s[0] >= '0' && s[0] <= '9'
	i := 1
	for i < len(s) && (s[i] >= '0' && s[i] <= '9') == digit {
		i++
	}
	return s[:i], s[i:]
}

func compareRun(a, b string) int {
	switch {
	case a == b:
		return 0
	case strings.HasPrefix(a, "~") && !strings.HasPrefix(b, "~"):
		return -1
	case strings.HasPrefix(b, "~") && !strings.HasPrefix(a, "~"):
		return 1
	case a == "":
		return -1
	case b == "":
		return 1
	}
	x, errA := strconv.Atoi(a)
	y, errB := strconv.Atoi(b)
	if errA == nil && errB == nil {
		return cmp.Compare(x, y)
	}
	return strings.Compare(a, b)
}
