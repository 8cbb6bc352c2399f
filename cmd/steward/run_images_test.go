package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	testregistry "github.com/stewardhq/steward/deploy/testenv/registry"
	"github.com/stewardhq/steward/reconcile/status"
)

// imageDaemonRepo is a stack applying one machine File to a local target,
// its content an image marked for policy app, scanned every second.
func imageDaemonRepo(host string) map[string]string {
	return map[string]string{
		"steward.yaml": `apiVersion: steward.dev/v1
kind: Stack
targets:
  here: {local: {root: ./out}}
units:
  - {name: app, path: app, generator: {yaml: {}}, target: here}
images:
  insecureRegistries: [` + host + `]
  interval: 1s
  policies:
    - {name: app, image: ` + host + `/team/app, semver: ">=1.0.0"}
`,
		"app/conf.yaml": "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: conf}\nspec:\n  path: /etc/app.conf\n  content: " +
			host + "/team/app:1.0.0 # {\"$imagepolicy\": \"app\"}\n  mode: \"0644\"\n",
	}
}

// events collects the notifications posted to it.
type events struct {
	mu   sync.Mutex
	seen []map[string]any
}

func (e *events) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var ev map[string]any
	if json.Unmarshal(b, &ev) == nil {
		e.mu.Lock()
		e.seen = append(e.seen, ev)
		e.mu.Unlock()
	}
}

func (e *events) kinds() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var k []string
	for _, ev := range e.seen {
		k = append(k, ev["kind"].(string))
	}
	return strings.Join(k, ",")
}

func TestRunImageAutomation(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushAt(t, "team/app", "1.0.0", time.Now())
	srv := gitserver.Start(t, gitserver.Options{})
	repo := srv.NewRepo(t, "fleet")
	repo.Commit(t, "base", imageDaemonRepo(reg.Host))
	hook := &events{}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	work := t.TempDir()
	d := startDaemon(t, buildSteward(t), work, nil, "run", "--repo", srv.RepoURL("fleet"), "--poll-interval", "1h",
		"--registry-config", filepath.Join(work, "none.json"), "--notify-webhook", hookSrv.URL)
	conf := filepath.Join(work, "out", "etc", "app.conf")
	d.waitFor(t, "the first scan", time.Minute, func(s *status.Snapshot) bool {
		return s != nil && s.Images != nil && len(s.Images.Policies) == 1 && s.Images.Policies[0].Tag == "1.0.0"
	})

	// A new tag: committed to main by the image loop, then applied by the
	// normal loop (triggered, with polling an hour away).
	reg.PushAt(t, "team/app", "1.1.0", time.Now())
	d.waitFor(t, "the new tag committed and applied", time.Minute, func(s *status.Snapshot) bool {
		b, _ := os.ReadFile(conf)
		return strings.Contains(string(b), "team/app:1.1.0") && s.Images.LastCommit != ""
	})
	s := d.status(t)
	if got := repo.GitBare(t, "rev-parse", "main"); got != s.Images.LastCommit || s.Images.Branch != "main" {
		t.Fatalf("main %s, status %+v", got, s.Images)
	}
	if u := unitState(s, "app"); u.Revision != s.Images.LastCommit {
		d.waitFor(t, "the unit at the image commit", 30*time.Second, func(s *status.Snapshot) bool { return unitState(s, "app").Revision == s.Images.LastCommit })
	}
	metrics := d.metrics(t)
	for _, want := range []string{`steward_image_scan_total{policy="app",result="chosen"}`, `steward_image_policy_info{policy="app",tag="1.1.0"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	d.waitFor(t, "the commit notified", 10*time.Second, func(*status.Snapshot) bool { return strings.Contains(hook.kinds(), "image-commit") })

	// A push refused for permissions: the status says why; nothing moves.
	must(t, os.WriteFile(filepath.Join(repo.Bare, "hooks", "pre-receive"), []byte("#!/bin/sh\necho 'bot may not push' >&2\nexit 1\n"), 0o755))
	before := repo.GitBare(t, "rev-parse", "main")
	reg.PushAt(t, "team/app", "1.2.0", time.Now())
	d.waitFor(t, "the refusal in the status", time.Minute, func(s *status.Snapshot) bool {
		return s.Images != nil && strings.Contains(s.Images.Error, "push to main refused") && strings.Contains(s.Images.Error, "declined")
	})
	if repo.GitBare(t, "rev-parse", "main") != before {
		t.Fatal("main moved")
	}
	page, err := http.Get("http://" + d.addr + "/")
	must(t, err)
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if !strings.Contains(string(body), `id="images-error"`) || !strings.Contains(string(body), "declined") {
		t.Fatalf("status page lacks the refusal")
	}
	if err := d.stop(t); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, d.log)
	}
}
