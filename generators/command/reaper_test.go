//go:build linux

package command_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/generators/command"
	"github.com/stewardhq/steward/reconcile"
)

// A child that leaves the process group (setsid), and one orphaned by a
// double fork, are killed with the command: when it times out, when its
// context is cancelled, and when it exits on its own.
func TestSetsidChildKilled(t *testing.T) {
	needSh(t)
	tests := []struct {
		name    string
		hang    bool
		cancel  bool
		wantErr func(error) bool
	}{
		{name: "timeout", hang: true, wantErr: func(err error) bool {
			var te *command.TimeoutError
			return errors.As(err, &te)
		}},
		{name: "cancel", hang: true, cancel: true, wantErr: func(err error) bool { return errors.Is(err, context.Canceled) }},
		{name: "exit", wantErr: func(err error) bool { return err == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "child.pid")
			env := map[string]string{"PIDFILE": pidFile}
			if tt.hang {
				env["HANG"] = "1"
			}
			spec := &reconcile.CommandGenerator{Run: []string{"./gen.sh"}, Timeout: reconcile.Duration(2 * time.Second), Env: env}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancel {
				spec.Timeout = reconcile.Duration(time.Hour)
				go func() {
					waitFile(pidFile + ".2")
					cancel()
				}()
			}
			_, err := command.New(spec).Generate(ctx, request(t, "setsid"))
			if !tt.wantErr(err) {
				t.Fatalf("err = %v", err)
			}
			for _, f := range []string{pidFile + ".1", pidFile + ".2"} {
				if pid := childPid(t, f); !gone(t, pid) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
					t.Errorf("%s: child %d survived", filepath.Ext(f), pid)
				}
			}
		})
	}
}

func waitFile(name string) {
	for range 1000 {
		if _, err := os.Stat(name); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
