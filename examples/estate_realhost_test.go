package examples

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/stewardhq/steward/deploy/testenv/realhost"
)

// guestPrep readies a freshly booted guest the way a machine image is
// readied: package scripts may not start services (policy-rc.d, as in
// container images: the guests share this machine's network, and nginx's
// default site would bind port 80 of every address), and a package index
// older than a day is refreshed (the cached base's index may name versions
// the mirror has since replaced).
const guestPrep = `set -e
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod 755 /usr/sbin/policy-rc.d
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Release' -mmin -1440)" ]; then apt-get update -qq; fi
`

// guestOverlay is what the real-host test adds to the estate: the guests
// share one network, so each serves the site on its own address only,
// which the cache warmer reads from a file templated per host, and the
// distribution's default site (port 80 of every address) is turned off
// when nginx is installed, before it starts.
const guestOverlay = `apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: www-cache-warm-env}
spec:
  path: /etc/default/www-cache-warm
  mode: "0644"
  template: true
  content: "SITE=http://{{.Facts.address}}:8080/\n"
---
apiVersion: machine.steward.dev/v1
kind: Command
metadata: {name: no-default-site}
spec: {run: [rm, -f, /etc/nginx/sites-enabled/default], watches: [Package/nginx]}
`

// TestEstateOnRealHosts applies examples/estate to two real Debian guests
// (systemd as PID 1, apt from the Debian mirror, booted with
// systemd-nspawn), as root over SSH: nginx and curl are installed by apt,
// the site configuration is read by nginx, and both systemd units run.
// A configuration change restarts nginx (watches); a second sync changes
// nothing. Rollout batches and the rollback of an unhealthy host are
// covered by TestEstateOverSSH.
func TestEstateOnRealHosts(t *testing.T) {
	hosts := realhost.ForTest(t, 2, realhost.DefaultOptions())
	var g errgroup.Group
	for _, h := range hosts {
		g.Go(func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			_, err := h.Exec(ctx, "sh", "-c", guestPrep)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	steward := buildSteward(t)
	work := t.TempDir()
	creds := filepath.Join(work, "credentials")
	if err := os.MkdirAll(creds, 0o755); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(hosts[0].ClientKeyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(creds, "web-ssh"), key, 0o600); err != nil {
		t.Fatal(err)
	}

	// The README's edits (hosts, user), and the overlay the shared network
	// needs.
	repo := copyExample(t, "estate")
	stack := filepath.Join(repo, "steward.yaml")
	edit(t, stack, `hosts: ["web1.example.net:22", "web2.example.net:22", "web3.example.net:22", "web4.example.net:22"]`,
		fmt.Sprintf(`hosts: [%q, %q]`, hosts[0].Addr, hosts[1].Addr))
	edit(t, stack, "user: deploy", "user: root")
	edit(t, stack, "sudo: true", "sudo: false")
	edit(t, filepath.Join(repo, "web/nginx.yaml"), `source: site.conf, mode: "0644"}`, `source: site.conf, mode: "0644", template: true}`)
	edit(t, filepath.Join(repo, "web/site.conf"), "listen 8080 default_server;", "listen {{.Facts.address}}:8080 default_server;")
	edit(t, filepath.Join(repo, "web/site.yaml"), "ExecStart=/usr/bin/curl -fsS -o /dev/null http://127.0.0.1:8080/",
		"EnvironmentFile=/etc/default/www-cache-warm\n    ExecStart=/usr/bin/curl -fsS -o /dev/null ${SITE}")
	if err := os.WriteFile(filepath.Join(repo, "web/guests.yaml"), []byte(guestOverlay), 0o644); err != nil {
		t.Fatal(err)
	}
	git(t, repo, "add", "-A")
	git(t, repo, "commit", "-q", "-m", "estate on real guests")
	sync := func() (int, string) {
		return stewardRun(t, steward, "sync", "-C", repo, "--credentials-dir", creds, "--known-hosts", hosts[0].KnownHostsPath,
			"--cache-dir", filepath.Join(work, "cache"))
	}
	inGuest := func(h *realhost.Host, script string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := h.Exec(ctx, "sh", "-c", script)
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		return strings.TrimSpace(out)
	}
	get := func(h *realhost.Host, path string) string {
		t.Helper()
		c := &http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get("http://" + h.IP + ":8080" + path)
		if err != nil {
			t.Errorf("%s: GET %s: %v", h.Name, path, err)
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}

	begin := time.Now()
	code, out := sync()
	if code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, out)
	}
	t.Logf("first sync (%s):\n%s", time.Since(begin).Round(time.Millisecond), out)
	index, err := os.ReadFile("estate/web/index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hosts {
		if got := inGuest(h, "dpkg-query -W -f='${Package} ${Status}\\n' curl nginx"); got != "curl install ok installed\nnginx install ok installed" {
			t.Errorf("%s: packages:\n%s", h.Name, got)
		}
		if got := inGuest(h, "systemctl is-enabled nginx www-cache-warm; systemctl is-active nginx www-cache-warm"); got != "enabled\nenabled\nactive\nactive" {
			t.Errorf("%s: units enabled and active:\n%s", h.Name, got)
		}
		if got := inGuest(h, "cat /etc/nginx/conf.d/site.conf"); !strings.Contains(got, "listen "+h.IP+":8080 default_server;") {
			t.Errorf("%s: site.conf:\n%s", h.Name, got)
		}
		if got := get(h, "/"); got != string(index) {
			t.Errorf("%s: the site serves %q, want index.html", h.Name, got)
		}
		// The cache warmer (curl, where this test is Go) fetched the front
		// page once nginx was up.
		if got := inGuest(h, "grep -c '\"GET / HTTP/1.1\" 200 .*\"curl/' /var/log/nginx/access.log || true"); got == "0" || got == "" {
			t.Errorf("%s: no GET / by curl in nginx's access log (the cache warmer did not run): %q", h.Name, got)
		}
	}

	// Nothing changed: nothing is done.
	if code, out := sync(); code != 0 || strings.Contains(out, " created") || strings.Contains(out, " configured") {
		t.Errorf("second sync: exit %d\n%s", code, out)
	}

	// A new location: the configuration changes, nginx is restarted and
	// serves it.
	edit(t, filepath.Join(repo, "web/site.conf"), "    location = /healthz {", "    location = /version {\n        default_type text/plain;\n        return 200 \"v2\\n\";\n    }\n\n    location = /healthz {")
	git(t, repo, "commit", "-q", "-am", "a version page")
	if code, out := sync(); code != 0 {
		t.Fatalf("sync of the new location: exit %d\n%s", code, out)
	}
	for _, h := range hosts {
		if got := get(h, "/version"); got != "v2\n" {
			t.Errorf("%s: /version after the change: %q (nginx not restarted?)", h.Name, got)
		}
	}
}
