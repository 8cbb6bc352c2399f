package ssh

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv/realhost"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine"
)

// httpObjects is a small web service on each guest: busybox from the
// mirror, a page, and a systemd unit running busybox httpd on the guest's
// own loopback address (a File template fills it in). page names the file
// /healthz is served from; a revision that moves it breaks the health
// check.
func httpObjects(t *testing.T, page, body string) []*reconcile.Object {
	return objects(t, `apiVersion: machine.steward.dev/v1
kind: Package
metadata: {name: busybox}
---
apiVersion: machine.steward.dev/v1
kind: Directory
metadata: {name: stw-www}
spec: {path: /srv/stw-www}
---
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: stw-page}
spec: {path: /srv/stw-www/`+page+`, content: "`+body+`"}
---
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: stw-http-env}
spec: {path: /etc/default/stw-http, template: true, content: "ADDR={{.Host}}:18080\n"}
---
apiVersion: machine.steward.dev/v1
kind: Unit
metadata: {name: stw-http}
spec:
  content: |
    # The test restarts it more than five times in ten seconds (rollbacks,
    # a manual retry): without this systemd refuses with start-limit-hit.
    [Unit]
    StartLimitIntervalSec=0
    [Service]
    EnvironmentFile=/etc/default/stw-http
    ExecStart=/bin/busybox httpd -f -p ${ADDR} -h /srv/stw-www
    [Install]
    WantedBy=multi-user.target
  enabled: true
  state: running
  watches: [File/stw-http-env, File/stw-page]
`)
}

func webRequest(rev string, objs []*reconcile.Object) reconcile.ApplyRequest {
	req := unitRequest("stw-web", rev, objs...)
	req.Unit.Health = &reconcile.Health{HTTP: &reconcile.HTTPHealth{URL: "http://{{.Host}}:18080/healthz"},
		Retries: 10, Interval: reconcile.Duration(300 * time.Millisecond), Timeout: reconcile.Duration(2 * time.Second)}
	return req
}

// get fetches the health page of h's service.
func get(h *realhost.Host) string {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://%s:18080/healthz", h.IP))
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
}

// TestRealRolloutHealthRollback runs a web service on three real hosts
// rolled out one at a time with no failure allowed, gated by an HTTP
// health check against the service the unit started:
//   - r1 is healthy everywhere;
//   - r2 breaks /healthz: the first host applies it, fails the check and is
//     rolled back to r1 (served again); the breaker leaves the other two;
//   - r2 again (the reconciler's retry): the host that rolled back is not
//     touched again (no restart), and says why;
//   - a manual sync (reconcile.RetryHeld) applies r2 there once more;
//   - r3, a new revision, goes everywhere.
func TestRealRolloutHealthRollback(t *testing.T) {
	hosts := realHosts(t)
	f := newRealFleet(t, hosts, func(c *machine.Config) {
		c.Rollout = reconcile.Rollout{Batch: reconcile.IntOrPercent{N: 1}, MaxFailures: reconcile.IntOrPercent{N: 0}}
	})
	invocation := func(h *realhost.Host) string {
		return guest(t, h, "systemctl show --property InvocationID --value stw-http.service")
	}

	f.sync(t, webRequest("r1", httpObjects(t, "healthz", "ok r1")))
	for _, h := range hosts {
		if got := get(h); got != "200 ok r1" {
			t.Fatalf("%s after r1: %s", h.Name, got)
		}
	}

	cs := f.apply(t, t.Context(), webRequest("r2", httpObjects(t, "moved", "ok r2")))
	first, rest := hosts[0], hosts[1:]
	for _, c := range cs.Changes {
		switch {
		case c.Host == first.Addr && c.Action == reconcile.Failed:
			if !strings.Contains(c.Message, "health check failed after applying revision r2") || !strings.HasSuffix(c.Message, "rolled back to revision r1") {
				t.Fatalf("first host: %s", c.Message)
			}
		case c.Host != first.Addr && (c.Action == reconcile.Skipped || c.Action == reconcile.Unchanged):
			if c.Action == reconcile.Skipped && !strings.HasPrefix(c.Message, "rollout stopped: 1 of 3 hosts failed") {
				t.Fatalf("%s: %s", c.Host, c.Message)
			}
		case c.Action != reconcile.Unchanged:
			t.Fatalf("unexpected change %+v", c)
		}
	}
	if got := get(first); got != "200 ok r1" {
		t.Fatalf("first host after the rollback serves %s", got)
	}
	if got := guest(t, first, "ls /srv/stw-www"); got != "healthz" {
		t.Fatalf("first host after the rollback has %q", got)
	}
	for _, h := range rest {
		if got := get(h); got != "200 ok r1" {
			t.Fatalf("%s was not to be touched: %s", h.Name, got)
		}
	}

	// The retry of the same revision: the rolled-back host is held.
	before := invocation(first)
	cs = f.apply(t, t.Context(), webRequest("r2", httpObjects(t, "moved", "ok r2")))
	held := 0
	for _, c := range cs.Changes {
		if c.Host == first.Addr && c.Action == reconcile.Skipped {
			held++
			if !strings.HasPrefix(c.Message, "rolled back from revision r2 at ") || !strings.Contains(c.Message, "not applied again until a new revision or a manual sync") {
				t.Fatalf("held message %q", c.Message)
			}
		}
		if c.Action == reconcile.Failed || c.Action == reconcile.Configured || c.Action == reconcile.Created {
			t.Fatalf("the retry changed something: %+v", c)
		}
	}
	if held == 0 || invocation(first) != before {
		t.Fatalf("held changes %d; service restarted: %v", held, invocation(first) != before)
	}

	// A manual sync applies it again: it fails and rolls back again.
	cs = f.apply(t, reconcile.RetryHeld(t.Context()), webRequest("r2", httpObjects(t, "moved", "ok r2")))
	if len(cs.Failed()) == 0 || !strings.Contains(cs.Failed()[0].Message, "rolled back to revision r1") {
		t.Fatalf("manual sync: %+v", cs.Changes)
	}

	f.sync(t, webRequest("r3", httpObjects(t, "healthz", "ok r3")))
	for _, h := range hosts {
		if got := get(h); got != "200 ok r3" {
			t.Fatalf("%s after r3: %s", h.Name, got)
		}
	}
	f.sync(t, unitRequest("stw-web", "r4"))
	for _, h := range hosts {
		if got := guest(t, h, "systemctl is-active stw-http.service; dpkg-query -W busybox 2>&1 | head -1"); !strings.HasPrefix(got, "inactive\n") {
			t.Fatalf("%s after prune: %q", h.Name, got)
		}
	}
}

// powerCut pulls a guest's power right after the transport wrote a file.
type powerCut struct {
	machine.Transport
	h     *realhost.Host
	after string
}

func (p powerCut) WriteFile(ctx context.Context, path string, r io.Reader, a machine.FileAttrs) error {
	err := p.Transport.WriteFile(ctx, path, r, a)
	if path == p.after {
		p.h.Kill()
	}
	return err
}

// TestRealHostPowerOffMidRun: a host loses power in the middle of its
// apply, after the watched File was written and before the unit's restart.
// The rollout goes on to the other hosts as configured (one failure
// allowed); when the host is back, the next run does its pending restart.
func TestRealHostPowerOffMidRun(t *testing.T) {
	hosts := realHosts(t)
	victim := hosts[1]
	f := newRealFleet(t, hosts, func(c *machine.Config) {
		c.Rollout = reconcile.Rollout{Batch: reconcile.IntOrPercent{N: 1}, MaxFailures: reconcile.IntOrPercent{N: 1}}
	})
	armed := false
	f.target = machine.New(f.cfg, func(ctx context.Context, host string) (machine.Transport, error) {
		tr, err := f.dial(ctx, host)
		if err != nil || !armed || host != victim.Addr {
			return tr, err
		}
		return powerCut{Transport: tr, h: victim, after: "/etc/stw-power.conf"}, nil
	})
	objs := func(conf string) []*reconcile.Object {
		return objects(t, `apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: stw-power-conf}
spec: {path: /etc/stw-power.conf, content: "`+conf+`"}
---
apiVersion: machine.steward.dev/v1
kind: Unit
metadata: {name: stw-power}
spec:
  content: "[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n"
  enabled: true
  state: running
  watches: [File/stw-power-conf]
`)
	}
	f.sync(t, unitRequest("stw-power", "r1", objs("a")...))

	armed = true
	p, err := f.target.Plan(t.Context(), unitRequest("stw-power", "r2", objs("b")...))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := f.target.Apply(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	armed = false
	wantHostActions(t, cs, hosts[0].Addr, "File/stw-power-conf configured", "Unit/stw-power configured")
	wantHostActions(t, cs, victim.Addr, "File/stw-power-conf configured", "Unit/stw-power failed")
	wantHostActions(t, cs, hosts[2].Addr, "File/stw-power-conf configured", "Unit/stw-power configured")
	if victim.Running() {
		t.Fatal("the victim is still running")
	}

	if err := victim.Boot(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := guest(t, victim, "cat /etc/stw-power.conf; grep -o '\"Unit/stw-power restart\"' /var/lib/steward/stw-power.json"); got != "b\"Unit/stw-power restart\"" {
		t.Fatalf("after the power cut: %q", got)
	}
	cs = f.sync(t, unitRequest("stw-power", "r2", objs("b")...))
	wantHostActions(t, cs, victim.Addr, "File/stw-power-conf unchanged", "Unit/stw-power configured")
	for _, c := range cs.Changes {
		if c.Host == victim.Addr && c.Object.Kind == "Unit" && c.Diff != "restart stw-power.service (pending from an earlier run)\n" {
			t.Fatalf("diff %q", c.Diff)
		}
	}
	if got := guest(t, victim, "grep -c pending /var/lib/steward/stw-power.json || true"); got != "0" {
		t.Fatalf("pending left: %s", got)
	}
	f.sync(t, unitRequest("stw-power", "r3"))
}
