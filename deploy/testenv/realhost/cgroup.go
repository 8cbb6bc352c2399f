package realhost

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cgroupParent is the directory, in each writable cgroup hierarchy, under
// which every guest gets its own: <test process pid>-<guest name>.
const cgroupParent = "steward-realhost"

// hierarchies lists the cgroup hierarchies a guest is put in: the unified
// (v2) one and systemd's named v1 one where this machine has them.
func hierarchies() []string {
	var out []string
	if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
		return []string{"/sys/fs/cgroup"} // unified only
	}
	for _, h := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"} {
		if _, err := os.Stat(filepath.Join(h, "cgroup.procs")); err == nil {
			out = append(out, h)
		}
	}
	return out
}

func makeCgroups(name string) ([]string, error) {
	var out []string
	for _, h := range hierarchies() {
		d := filepath.Join(h, cgroupParent, fmt.Sprintf("%d-%s", os.Getpid(), name))
		if err := os.MkdirAll(d, 0o755); err != nil {
			removeCgroups(out)
			return nil, fmt.Errorf("cgroup for %s: %w", name, err)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no writable cgroup hierarchy under /sys/fs/cgroup", ErrUnavailable)
	}
	return out, nil
}

// cgroupPids lists the processes of cg and of every cgroup below it.
func cgroupPids(cg string) []int {
	var out []int
	_ = filepath.WalkDir(cg, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "cgroup.procs" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				out = append(out, pid)
			}
		}
		return nil
	})
	return out
}

// killCgroups kills every process of the cgroups, until none is left (or a
// bound passes).
func killCgroups(cgs []string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := 0
		for _, cg := range cgs {
			// cgroup v2 kills the whole subtree at once; v1 needs each pid.
			_ = os.WriteFile(filepath.Join(cg, "cgroup.kill"), []byte("1"), 0o644)
			for _, pid := range cgroupPids(cg) {
				left++
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if left == 0 || time.Now().After(deadline) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// removeCgroups removes the cgroup directories, deepest first (a guest's
// systemd makes its own below them).
func removeCgroups(cgs []string) {
	for _, cg := range cgs {
		var dirs []string
		_ = filepath.WalkDir(cg, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			for range 50 {
				err := syscall.Rmdir(dirs[i])
				if err == nil || errors.Is(err, syscall.ENOENT) {
					break
				}
				if !errors.Is(err, syscall.EBUSY) {
					break
				}
				time.Sleep(20 * time.Millisecond) // the last process is being reaped
			}
		}
	}
}

// reapStale kills and removes the guests of test processes that died
// without stopping them (kill -9 of a test binary).
func reapStale() {
	for _, h := range hierarchies() {
		entries, err := os.ReadDir(filepath.Join(h, cgroupParent))
		if err != nil {
			continue
		}
		for _, e := range entries {
			pid, _, ok := strings.Cut(e.Name(), "-")
			if !ok || !e.IsDir() {
				continue
			}
			if _, err := os.Stat(filepath.Join("/proc", pid)); err == nil {
				continue
			}
			cg := []string{filepath.Join(h, cgroupParent, e.Name())}
			killCgroups(cg)
			removeCgroups(cg)
		}
	}
}
