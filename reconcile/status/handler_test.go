package status

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

func get(t *testing.T, h http.Handler, method, target string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Result()
}

func TestAPIStatus(t *testing.T) {
	h := newHandler(fixtureStore(), func() time.Time { return testNow })
	resp := get(t, h, http.MethodGet, "/api/status")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	body, _ := io.ReadAll(resp.Body)
	var snap Snapshot
	if err := json.Unmarshal(body, &snap); err != nil {
		t.Fatalf("decode: %v\n%s", err, body)
	}
	if snap.Revision != revBad || !snap.Ready || len(snap.Units) != 6 {
		t.Fatalf("snapshot: revision %q ready %v units %d", snap.Revision, snap.Ready, len(snap.Units))
	}
	if strings.Contains(string(body), "s3cr3t-token") {
		t.Error("credential in /api/status")
	}
	web, ok := snap.Unit("web-hosts")
	if !ok {
		t.Fatal("web-hosts missing")
	}
	if web.State != StateFailed || web.LastError != evilError || web.Revision != revGood ||
		web.LastAttemptedRevision != revBad || !web.NextRun.Equal(testNow.Add(30e9)) {
		t.Errorf("web-hosts = %+v", web)
	}
	if got := web.LastResult.Failed(); len(got) != 1 || got[0].Object.Name != "app.service" {
		t.Errorf("failed changes = %+v", got)
	}
	// Field names are the API: check a few raw keys and that zero times
	// are left out rather than rendered as year 1.
	var raw struct {
		Units []map[string]any `json:"units"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "target", "state", "ready", "lastResult", "lastError", "nextRun", "lastAttemptedRevision", "dependsOn", "drift"} {
		if _, ok := raw.Units[1][k]; !ok {
			t.Errorf("key %q missing from unit JSON", k)
		}
	}
	if _, ok := raw.Units[5]["lastAttempt"]; ok {
		t.Error("pending unit has a lastAttempt")
	}
	if a, _ := raw.Units[0]["lastResult"].(map[string]any)["changes"].([]any)[1].(map[string]any)["action"].(string); a != string(reconcile.Configured) {
		t.Errorf("change action = %q", a)
	}
}

func TestProbes(t *testing.T) {
	s := NewStore()
	h := Handler(s)
	if resp := get(t, h, http.MethodGet, "/healthz"); resp.StatusCode != 200 {
		t.Errorf("healthz before first pass = %d, want 200", resp.StatusCode)
	}
	if resp := get(t, h, http.MethodGet, "/readyz"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz before first pass = %d, want 503", resp.StatusCode)
	}
	s.MarkReady()
	if resp := get(t, h, http.MethodGet, "/readyz"); resp.StatusCode != 200 {
		t.Errorf("readyz after first pass = %d, want 200", resp.StatusCode)
	}
	if resp := get(t, h, http.MethodHead, "/readyz"); resp.StatusCode != 200 {
		t.Errorf("HEAD readyz = %d, want 200", resp.StatusCode)
	}
	s.MarkDraining()
	if resp := get(t, h, http.MethodGet, "/readyz"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz while draining = %d, want 503", resp.StatusCode)
	}
	if resp := get(t, h, http.MethodGet, "/healthz"); resp.StatusCode != 200 {
		t.Errorf("healthz while draining = %d, want 200", resp.StatusCode)
	}
}

func TestRoutes(t *testing.T) {
	h := Handler(fixtureStore())
	tests := []struct {
		method, target string
		want           int
	}{
		{"GET", "/", 200},
		{"GET", "/?refresh=5", 200},
		{"GET", "/?refresh=0", 400},
		{"GET", "/?refresh=abc", 400},
		{"POST", "/", 405},
		{"POST", "/api/status", 405},
		{"DELETE", "/healthz", 405},
		{"GET", "/nope", 404},
		{"GET", "/api/status/x", 404},
	}
	for _, tt := range tests {
		if got := get(t, h, tt.method, tt.target).StatusCode; got != tt.want {
			t.Errorf("%s %s = %d, want %d", tt.method, tt.target, got, tt.want)
		}
	}
}

func TestPageHeaders(t *testing.T) {
	resp := get(t, Handler(fixtureStore()), "GET", "/")
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q does not forbid scripts", csp)
	}
}

func TestPageRefresh(t *testing.T) {
	body := func(target string) string {
		b, _ := io.ReadAll(get(t, Handler(fixtureStore()), "GET", target).Body)
		return string(b)
	}
	if s := body("/"); strings.Contains(s, `http-equiv="refresh"`) {
		t.Error("page refreshes without being asked to")
	}
	if s := body("/?refresh=99999"); !strings.Contains(s, `<meta http-equiv="refresh" content="3600">`) {
		t.Error("refresh not clamped to an hour")
	}
}
