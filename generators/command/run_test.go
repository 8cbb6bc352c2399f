package command_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/generators/command"
	"github.com/stewardhq/steward/reconcile"
)

// gone waits until pid no longer runs (it may linger as a zombie until its
// new parent reaps it).
func gone(t *testing.T, pid int) bool {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err == nil {
			// pid (comm) S ...: the state follows the last ')'.
			if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func childPid(t *testing.T, file string) int {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("child pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("child pid %q: %v", data, err)
	}
	return pid
}

// A command that hangs is killed at its timeout together with the child it
// forked.
func TestTimeoutKillsProcessGroup(t *testing.T) {
	needSh(t)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	spec := &reconcile.CommandGenerator{
		Run:     []string{"./hang.sh"},
		Timeout: reconcile.Duration(time.Second),
		Env:     map[string]string{"PIDFILE": pidFile},
	}
	start := time.Now()
	_, err := command.New(spec).Generate(context.Background(), request(t, "hang"))
	if err == nil {
		t.Fatal("no error")
	}
	t.Log(err, "after", time.Since(start))
	var te *command.TimeoutError
	if !errors.As(err, &te) || te.After != time.Second {
		t.Errorf("error %v is not a 1s *TimeoutError", err)
	}
	for _, w := range []string{"timeout after 1s", "waiting forever"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not mention %q: %v", w, err)
		}
	}
	if pid := childPid(t, pidFile); !gone(t, pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("forked child %d survived the timeout", pid)
	}
}

// Cancelling the context kills the group too.
func TestCancelKillsProcessGroup(t *testing.T) {
	needSh(t)
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	spec := &reconcile.CommandGenerator{Run: []string{"./hang.sh"}, Env: map[string]string{"PIDFILE": pidFile}}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for range 500 {
			if _, err := os.Stat(pidFile); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	_, err := command.New(spec).Generate(ctx, request(t, "hang"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if pid := childPid(t, pidFile); !gone(t, pid) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("forked child %d survived the cancellation", pid)
	}
}

// 100 MB on stdout fails at the cap without buffering past it.
func TestOutputCap(t *testing.T) {
	needSh(t)
	tests := []struct {
		name      string
		maxOutput int64
		limit     int64
	}{
		{"default cap", 0, command.DefaultMaxOutput},
		{"small cap", 1 << 20, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := &reconcile.CommandGenerator{Run: []string{"./big.sh"}, MaxOutput: tt.maxOutput}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := command.New(spec).Generate(context.Background(), request(t, "big"))
			runtime.ReadMemStats(&after)
			var oe *command.OutputLimitError
			if !errors.As(err, &oe) || oe.Limit != tt.limit {
				t.Fatalf("err = %v, want an *OutputLimitError at %d", err, tt.limit)
			}
			if want := "output exceeds " + strconv.FormatInt(tt.limit, 10) + " bytes"; !strings.Contains(err.Error(), want) {
				t.Errorf("error does not say %q: %v", want, err)
			}
			// The buffer never grows past limit+1: doubling from 64 KiB
			// allocates under 2x the limit in all.
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("allocated %d bytes reading 100 MB with a %d byte cap", alloc, tt.limit)
			if bound := uint64(2*tt.limit + 8<<20); alloc > bound {
				t.Errorf("allocated %d bytes, more than %d: stdout is not bounded", alloc, bound)
			}
		})
	}
}
