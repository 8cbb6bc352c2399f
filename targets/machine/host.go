package machine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path"
	"strconv"
	"strings"
	"time"
)

// host is one connected host during one Plan or Apply: the transport, the
// target's root, and what was looked up on it (ids, facts, package manager).
type host struct {
	t      Transport
	name   string // the configured host ("web1:22")
	root   string
	env    map[string]string
	pkgMgr string // "apt", "dnf", or "" until detected

	lockTimeout time.Duration // how long apt waits for the dpkg lock
	cacheMaxAge time.Duration // refresh an older package index before installing
	refreshed   bool          // the package index was refreshed in this run

	users  map[string]int
	groups map[string]int
	facts  map[string]string
}

func newHost(t Transport, name, root string, env map[string]string, pkgMgr string) *host {
	if root == "" {
		root = "/"
	}
	return &host{t: t, name: name, root: root, env: env, pkgMgr: pkgMgr, lockTimeout: DefaultPackageLockTimeout,
		users: map[string]int{}, groups: map[string]int{}}
}

// host returns a connected host with the target's settings.
func (t *Target) host(tr Transport, name string) *host {
	h := newHost(tr, name, t.cfg.Root, t.cfg.Env, t.cfg.PackageManager)
	h.lockTimeout, h.cacheMaxAge = t.cfg.PackageLockTimeout, t.cfg.PackageCacheMaxAge
	return h
}

// journalTail returns the last lines a systemd unit logged, "" when the
// journal cannot be read.
func (h *host) journalTail(ctx context.Context, unit string) string {
	res, err := h.run(ctx, "journalctl", "--unit", unit, "--lines", "15", "--no-pager", "--output", "cat", "--quiet")
	if err != nil || res.ExitCode != 0 {
		return ""
	}
	return strings.TrimRight(string(res.Stdout), "\n")
}

// hostname is the configured host without its port: what {{.Host}} means.
func hostname(h string) string {
	if n, _, err := net.SplitHostPort(h); err == nil {
		return n
	}
	return h
}

// path puts an object's path under the target's root.
func (h *host) path(p string) string { return path.Join(h.root, p) }

// run runs argv with the target's environment.
func (h *host) run(ctx context.Context, argv ...string) (*CmdResult, error) {
	return h.runEnv(ctx, nil, "", argv)
}

func (h *host) runEnv(ctx context.Context, env map[string]string, dir string, argv []string) (*CmdResult, error) {
	e := env
	if len(h.env) > 0 {
		e = make(map[string]string, len(h.env)+len(env))
		for k, v := range h.env {
			e[k] = v
		}
		for k, v := range env {
			e[k] = v
		}
	}
	res, err := h.t.Run(ctx, Cmd{Argv: argv, Env: e, Dir: dir})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// must runs argv and turns a non-zero exit into an error.
func (h *host) must(ctx context.Context, argv ...string) error {
	res, err := h.run(ctx, argv...)
	if err != nil {
		return err
	}
	return exitError(argv, res)
}

// CommandError is a command that exited non-zero on a host.
type CommandError struct {
	Argv     []string
	ExitCode int
	Stderr   string // last line of stderr, trimmed
}

func (e *CommandError) Error() string {
	s := fmt.Sprintf("%s exited %d", strings.Join(e.Argv, " "), e.ExitCode)
	if e.Stderr != "" {
		s += ": " + e.Stderr
	}
	return s
}

func exitError(argv []string, res *CmdResult) error {
	if res.ExitCode == 0 {
		return nil
	}
	return &CommandError{Argv: argv, ExitCode: res.ExitCode, Stderr: lastLine(res.Stderr)}
}

func lastLine(b []byte) string {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[i+1:]
	}
	if len(b) > 200 {
		b = append(b[:200:200], "..."...)
	}
	return string(b)
}

// stat returns nil, nil for a missing path.
func (h *host) stat(ctx context.Context, p string) (*FileInfo, error) {
	fi, err := h.t.Stat(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	return fi, nil
}

// matchFile describes p (nil for a missing path) and, for a regular file,
// says whether it holds want, returning its content when it does not. A
// transport that is a FileMatcher answers in one call and may not read an
// unchanged file again; others are asked for Stat and ReadFile.
func (h *host) matchFile(ctx context.Context, p string, want []byte) (*FileMatch, error) {
	if m, ok := h.t.(FileMatcher); ok {
		fm, err := m.MatchFile(ctx, p, want)
		if errors.Is(err, fs.ErrNotExist) {
			return &FileMatch{}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		return fm, nil
	}
	fi, err := h.stat(ctx, p)
	if err != nil || fi == nil || !fi.Mode.IsRegular() {
		return &FileMatch{Info: fi}, err
	}
	cur, err := h.t.ReadFile(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if bytes.Equal(cur, want) {
		return &FileMatch{Info: fi, Same: true}, nil
	}
	return &FileMatch{Info: fi, Content: cur}, nil
}

// errNoSuchID is returned for a user or group that does not exist.
var errNoSuchID = errors.New("not found on the host")

// lookupID resolves a user (db "passwd") or group (db "group") name to its
// id with getent; numeric strings are ids already.
func (h *host) lookupID(ctx context.Context, db, name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	cache := h.users
	if db == "group" {
		cache = h.groups
	}
	if id, ok := cache[name]; ok {
		return id, nil
	}
	res, err := h.run(ctx, "getent", db, name)
	if err != nil {
		return 0, fmt.Errorf("look up %s %s: %w", db, name, err)
	}
	if res.ExitCode == 2 {
		return 0, fmt.Errorf("%s %q: %w", kindOfDB(db), name, errNoSuchID)
	}
	if err := exitError([]string{"getent", db, name}, res); err != nil {
		return 0, err
	}
	fields := strings.Split(strings.TrimSpace(string(res.Stdout)), ":")
	if len(fields) < 3 {
		return 0, fmt.Errorf("getent %s %s: unexpected output", db, name)
	}
	id, err := strconv.Atoi(fields[2])
	if err != nil {
		return 0, fmt.Errorf("getent %s %s: bad id %q", db, name, fields[2])
	}
	cache[name] = id
	return id, nil
}

func kindOfDB(db string) string {
	if db == "passwd" {
		return "user"
	}
	return "group"
}

// forget drops cached ids after users changed.
func (h *host) forget() {
	h.users = map[string]int{}
	h.groups = map[string]int{}
}

// gatherFacts reads the host facts templates see, once.
func (h *host) gatherFacts(ctx context.Context) (map[string]string, error) {
	if h.facts != nil {
		return h.facts, nil
	}
	res, err := h.run(ctx, "uname", "-n", "-s", "-r", "-m")
	if err != nil {
		return nil, fmt.Errorf("gather facts: %w", err)
	}
	if err := exitError([]string{"uname"}, res); err != nil {
		return nil, fmt.Errorf("gather facts: %w", err)
	}
	f := strings.Fields(string(res.Stdout))
	if len(f) < 4 {
		return nil, fmt.Errorf("gather facts: unexpected uname output %q", res.Stdout)
	}
	facts := map[string]string{
		"hostname": f[1],
		"os":       strings.ToLower(f[0]),
		"kernel":   f[2],
		"arch":     f[3],
		"host":     hostname(h.name),
	}
	// The distribution describes the host itself, not the root prefix.
	if osr, err := h.t.ReadFile(ctx, "/etc/os-release"); err == nil {
		for _, line := range strings.Split(string(osr), "\n") {
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				continue
			}
			v = strings.Trim(v, `"'`)
			switch k {
			case "ID":
				facts["distro"] = v
			case "VERSION_ID":
				facts["distroVersion"] = v
			}
		}
	}
	// PID 1 names the init system; the addresses are what the host itself
	// reports. Hosts without these tools just lack the facts.
	if res, err := h.run(ctx, "cat", "/proc/1/comm"); err == nil && res.ExitCode == 0 {
		facts["init"] = strings.TrimSpace(string(res.Stdout))
	}
	var addrs []string
	if res, err := h.run(ctx, "hostname", "-I"); err == nil && res.ExitCode == 0 {
		addrs = strings.Fields(string(res.Stdout))
		facts["addresses"] = strings.Join(addrs, " ")
	}
	// address is where steward reaches the host when that is an IP
	// address, else the first address the host reports.
	switch {
	case net.ParseIP(facts["host"]) != nil:
		facts["address"] = facts["host"]
	case len(addrs) > 0:
		facts["address"] = addrs[0]
	}
	h.facts = facts
	return facts, nil
}
