package ssh

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/sshd"
	"github.com/stewardhq/steward/reconcile"
)

// TestUnitRestartOverSSH: systemd does not run here, so the test hosts'
// sshd puts the machine package's recording shims (testdata/shims) first
// on the PATH of every session, each host with its own shim log and state,
// and the test asserts the exact systemctl sequence each host received
// over SSH: install, then a restart when the watched File changes, then
// nothing on a no-op run.
func TestUnitRestartOverSSH(t *testing.T) {
	shims, err := filepath.Abs("../testdata/shims")
	if err != nil {
		t.Fatal(err)
	}
	opts := sshd.DefaultOptions()
	opts.PathPrefix = []string{shims}
	hosts := sshd.ForTest(t, 2, opts)
	shimEnv := func(h *sshd.Host) map[string]string {
		return map[string]string{"SHIM_LOG": filepath.Join(h.Dir, "shim.log"), "SHIM_STATE": filepath.Join(h.Dir, "shim-state")}
	}
	f := newFleetEnv(t, hosts, 2, shimEnv)
	calls := func(h *sshd.Host) []string {
		p := shimEnv(h)["SHIM_LOG"]
		b, _ := os.ReadFile(p)
		os.Remove(p)
		var out []string
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != "" && !strings.HasPrefix(l, "getent ") && !strings.HasPrefix(l, "id ") {
				out = append(out, l)
			}
		}
		return out
	}
	objs := func(conf string) []*reconcile.Object {
		return objects(t, `apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: conf}
spec: {path: /etc/web.conf, content: "`+conf+`"}
---
apiVersion: machine.steward.dev/v1
kind: Unit
metadata: {name: web}
spec:
  content: "[Service]\nExecStart=/bin/web\n"
  enabled: true
  state: running
  watches: [File/conf]
`)
	}
	steps := []struct {
		name  string
		conf  string
		calls []string
	}{
		{"install", "a", []string{"systemctl is-enabled web.service", "systemctl is-active web.service",
			"systemctl daemon-reload", "systemctl enable web.service", "systemctl start web.service"}},
		{"watched file changed", "b", []string{"systemctl is-enabled web.service", "systemctl is-active web.service",
			"systemctl restart web.service"}},
		{"no-op", "b", []string{"systemctl is-enabled web.service", "systemctl is-active web.service"}},
	}
	for i, s := range steps {
		cs := f.sync(t, request("r"+string(rune('1'+i)), true, objs(s.conf)...))
		if s.name == "no-op" && cs.HasChanges() {
			t.Fatalf("no-op run changed: %+v", cs.Changes)
		}
		for _, h := range hosts {
			if got := calls(h); !slices.Equal(got, s.calls) {
				t.Fatalf("%s on %s: systemctl calls\n  got  %q\n  want %q", s.name, h.Addr, got, s.calls)
			}
		}
	}
	for _, h := range hosts {
		if b, err := os.ReadFile(filepath.Join(h.Root, "etc/systemd/system/web.service")); err != nil || !strings.Contains(string(b), "ExecStart=/bin/web") {
			t.Errorf("%s: unit file %q, %v", h.Addr, b, err)
		}
	}
}
