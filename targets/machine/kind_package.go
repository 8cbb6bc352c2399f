package machine

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
	switch {
	case r.spec.State == "absent" && cur != "":
		st.action = reconcile.Configured
		st.diff = fmt.Sprintf("remove package %s %s\n", r.spec.Name, cur)
		st.ops = []op{removePackage(pm, r.spec.Name)}
		st.entry = nil
	case r.spec.State == "absent":
		st.entry = nil
	case cur == "":
		st.action = reconcile.Created
		st.diff = fmt.Sprintf("install package %s\n", pkgRef(pm, r.spec.Name, r.spec.Version))
		st.ops = []op{installPackage(pm, r.spec.Name, r.spec.Version)}
	case !versionMatches(cur, r.spec.Version):
		st.action = reconcile.Configured
		st.diff = fmt.Sprintf("change package %s %s -> %s\n", r.spec.Name, cur, r.spec.Version)
		st.ops = []op{installPackage(pm, r.spec.Name, r.spec.Version)}
	}
	return st, nil
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

func installPackage(pm, name, version string) op {
	if pm == PackageManagerApt {
		return op{kind: opRun, env: map[string]string{"DEBIAN_FRONTEND": "noninteractive"},
			argv: []string{"apt-get", "install", "-y", "-q", "--no-install-recommends", pkgRef(pm, name, version)}}
	}
	return op{kind: opRun, argv: []string{"dnf", "install", "-y", "-q", pkgRef(pm, name, version)}}
}

func removePackage(pm, name string) op {
	if pm == PackageManagerApt {
		return op{kind: opRun, env: map[string]string{"DEBIAN_FRONTEND": "noninteractive"},
			argv: []string{"apt-get", "remove", "-y", "-q", name}}
	}
	return op{kind: opRun, argv: []string{"dnf", "remove", "-y", "-q", name}}
}
