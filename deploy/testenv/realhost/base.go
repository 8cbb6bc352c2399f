package realhost

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// recipe names the way the base is built; changing what buildBase does
// changes it, so a cached base of an older recipe is not used.
const recipe = "v1"

// BasePackages are what debootstrap adds to minbase.
var BasePackages = []string{"systemd", "systemd-sysv", "dbus", "openssh-server", "ca-certificates"}

// maskedUnits would start apt or change the guest behind a test's back.
var maskedUnits = []string{"apt-daily.timer", "apt-daily-upgrade.timer", "apt-daily.service", "apt-daily-upgrade.service",
	"e2scrub_all.timer", "fstrim.timer", "systemd-timesyncd.service"}

// Base returns the cached base rootfs for opts, building it first when it
// is not there. Concurrent callers, in this process or others, wait on a
// file lock while one builds.
func Base(ctx context.Context, opts Options) (string, error) {
	opts = withDefaults(opts)
	if err := checkAvailable(opts); err != nil {
		return "", err
	}
	suite, mirror, err := opts.suiteAndMirror()
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("base-%s-%s-%s", suite, runtime.GOARCH, recipe)
	if len(opts.ExtraPackages) > 0 {
		sum := sha256.Sum256([]byte(strings.Join(opts.ExtraPackages, ",")))
		name += "-" + hex.EncodeToString(sum[:4])
	}
	dir := filepath.Join(opts.Cache, name)
	if ready(dir) {
		return dir, nil
	}
	if err := os.MkdirAll(opts.Cache, 0o755); err != nil {
		return "", fmt.Errorf("realhost cache: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(opts.Cache, "base.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if ready(dir) { // built while we waited
		return dir, nil
	}
	if err := buildBase(ctx, opts, dir, suite, mirror); err != nil {
		return "", err
	}
	return dir, nil
}

// ready reports whether a finished base is at dir: it is renamed into place
// only once complete.
func ready(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, "usr", "lib", "systemd", "systemd"))
	return err == nil && fi.Mode().IsRegular()
}

// lockFile takes an exclusive flock on path, polling so that ctx can end
// the wait.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("realhost lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("realhost lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("waiting for the realhost base build: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// buildBase debootstraps into a temporary directory beside dir, prepares
// it and renames it to dir.
func buildBase(ctx context.Context, opts Options, dir, suite, mirror string) error {
	begin := time.Now()
	tmp, err := os.MkdirTemp(opts.Cache, "building-")
	if err != nil {
		return fmt.Errorf("realhost base: %w", err)
	}
	defer os.RemoveAll(tmp)
	log := filepath.Join(opts.Cache, "build.log")
	root := filepath.Join(tmp, "rootfs")
	args := []string{"--variant=minbase", "--include=" + strings.Join(append(BasePackages, opts.ExtraPackages...), ","), suite, root, mirror}
	if err := runLogged(ctx, log, opts.Debootstrap, args...); err != nil {
		return fmt.Errorf("debootstrap %s from %s: %w", suite, mirror, err)
	}
	if err := prepareBase(root); err != nil {
		return fmt.Errorf("realhost base: %w", err)
	}
	// The guest's package index, as a freshly installed host has it.
	if err := runLogged(ctx, log, "chroot", root, "sh", "-c", "apt-get update -qq && apt-get clean"); err != nil {
		return fmt.Errorf("realhost base: apt-get update: %w", err)
	}
	if err := os.Remove(filepath.Join(root, "etc", "resolv.conf")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Rename(root, dir); err != nil {
		return fmt.Errorf("realhost base: %w", err)
	}
	appendLog(log, fmt.Sprintf("base %s ready in %s\n", dir, time.Since(begin).Round(time.Second)))
	return nil
}

// prepareBase copies the host's apt sources in, drops the host keys the
// package generated (each host gets its own), empties the machine id and
// masks timers that would run apt on their own.
func prepareBase(root string) error {
	aptDir := filepath.Join(root, "etc", "apt")
	if err := os.Remove(filepath.Join(aptDir, "sources.list")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	srcs, err := hostSources()
	if err != nil {
		return err
	}
	for _, src := range srcs {
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		dst := filepath.Join(aptDir, "sources.list.d", filepath.Base(src))
		if filepath.Base(src) == "sources.list" {
			dst = filepath.Join(aptDir, "sources.list")
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
		for _, kr := range signedBy(b) {
			if err := copyIfMissing(kr, filepath.Join(root, kr)); err != nil {
				return err
			}
		}
	}
	keys, _ := filepath.Glob(filepath.Join(root, "etc", "ssh", "ssh_host_*"))
	for _, k := range keys {
		if err := os.Remove(k); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "machine-id"), nil, 0o444); err != nil {
		return err
	}
	for _, u := range maskedUnits {
		if err := os.Symlink("/dev/null", filepath.Join(root, "etc", "systemd", "system", u)); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	// For the apt-get update in the chroot; removed after it.
	if b, err := os.ReadFile("/etc/resolv.conf"); err == nil {
		_ = os.Remove(filepath.Join(root, "etc", "resolv.conf"))
		if err := os.WriteFile(filepath.Join(root, "etc", "resolv.conf"), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// hostSources lists the apt source files apt reads on this machine.
func hostSources() ([]string, error) {
	var out []string
	if b, err := os.ReadFile("/etc/apt/sources.list"); err == nil && len(activeLines(b)) > 0 {
		out = append(out, "/etc/apt/sources.list")
	}
	for _, pat := range []string{"*.list", "*.sources"} {
		m, err := filepath.Glob(filepath.Join("/etc/apt/sources.list.d", pat))
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
	}
	if len(out) == 0 {
		return nil, errors.New("this machine has no apt sources to copy")
	}
	return out, nil
}

func activeLines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// signedBy returns the keyring files a sources file names.
func signedBy(b []byte) []string {
	var out []string
	for _, l := range activeLines(b) {
		if v, ok := strings.CutPrefix(l, "Signed-By:"); ok {
			if p := strings.TrimSpace(v); strings.HasPrefix(p, "/") {
				out = append(out, p)
			}
			continue
		}
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(strings.Trim(f, "[]"), "signed-by="); ok && strings.HasPrefix(v, "/") {
				out = append(out, v)
			}
		}
	}
	return out
}

func copyIfMissing(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return nil // the host lacks it too; apt will say so
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

// hostMirror finds the first Debian archive (not the security archive) in
// this machine's apt sources, and its first suite.
func hostMirror() (suite, mirror string, err error) {
	srcs, err := hostSources()
	if err != nil {
		return "", "", err
	}
	for _, src := range srcs {
		b, err := os.ReadFile(src)
		if err != nil {
			return "", "", err
		}
		if strings.HasSuffix(src, ".sources") {
			for _, stanza := range strings.Split(string(b), "\n\n") {
				fields := map[string]string{}
				for _, l := range activeLines([]byte(stanza)) {
					if k, v, ok := strings.Cut(l, ":"); ok {
						fields[strings.ToLower(k)] = strings.TrimSpace(v)
					}
				}
				uris, suites := strings.Fields(fields["uris"]), strings.Fields(fields["suites"])
				if !strings.Contains(fields["types"], "deb") || len(uris) == 0 || len(suites) == 0 || strings.Contains(uris[0], "security") {
					continue
				}
				return suites[0], uris[0], nil
			}
			continue
		}
		for _, l := range activeLines(b) {
			f := strings.Fields(l)
			if len(f) > 1 && strings.HasPrefix(f[1], "[") { // options
				for i := 1; i < len(f); i++ {
					if strings.HasSuffix(f[i], "]") {
						f = append(f[:1], f[i+1:]...)
						break
					}
				}
			}
			if len(f) < 3 || f[0] != "deb" || strings.Contains(f[1], "security") {
				continue
			}
			return f[2], f[1], nil
		}
	}
	return "", "", errors.New("no Debian archive in this machine's apt sources")
}

// runLogged runs a command with its output appended to log; a failure
// quotes the log's tail.
func runLogged(ctx context.Context, log, name string, args ...string) error {
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintf(f, "+ %s %s\n", name, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s", err, tail(log, 1500))
	}
	return nil
}

func appendLog(log, s string) {
	if f, err := os.OpenFile(log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err == nil {
		f.WriteString(s)
		f.Close()
	}
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
