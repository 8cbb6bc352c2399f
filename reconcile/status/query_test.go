package status

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

func TestAPIStatusFilters(t *testing.T) {
	h := newHandler(fixtureStore(), func() time.Time { return testNow })
	tests := []struct {
		query   string
		want    []string // unit names, in store order
		matched int
	}{
		{"", []string{"platform", "web-hosts", "app", "monitoring", "legacy", "reports"}, 6},
		{"unit=web-hosts", []string{"web-hosts"}, 1},
		{"unit=web-*", []string{"web-hosts"}, 1},
		{"unit=app,legacy", []string{"app", "legacy"}, 2},
		{"unit=app&unit=re*", []string{"app", "reports"}, 2},
		{"unit=nothing", []string{}, 0},
		{"state=failed", []string{"web-hosts"}, 1},
		{"state=blocked,suspended", []string{"monitoring", "legacy"}, 2},
		{"state=pending", []string{"reports"}, 1},
		{"target=here", []string{"legacy", "reports"}, 2},
		{"target=prod&state=ready,progressing", []string{"platform", "app"}, 2},
		{"unit=*s*&state=failed", []string{"web-hosts"}, 1},
		{"limit=2", []string{"platform", "web-hosts"}, 6},
		{"limit=2&offset=3", []string{"monitoring", "legacy"}, 6},
		{"offset=99", []string{}, 6},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			resp := get(t, h, http.MethodGet, "/api/status?"+tc.query)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var got struct {
				Snapshot
				Matched int `json:"matched"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
				t.Fatal(err)
			}
			names := []string{}
			for _, u := range got.Units {
				names = append(names, u.Name)
			}
			if !slices.Equal(names, tc.want) || got.Matched != tc.matched {
				t.Errorf("units %v matched %d, want %v matched %d", names, got.Matched, tc.want, tc.matched)
			}
			if got.Revision != revBad || !got.Ready {
				t.Errorf("source fields lost: revision %q ready %v", got.Revision, got.Ready)
			}
		})
	}
}

func TestStatusBadQueries(t *testing.T) {
	h := newHandler(fixtureStore(), func() time.Time { return testNow })
	tests := []struct {
		path string
		want string // in the 400 body
	}{
		{"/api/status?state=broken", `state: no state "broken" (want one of failed, blocked, progressing, pending, suspended, ready)`},
		{"/api/status?unit=" + url.QueryEscape("web-["), `unit: bad pattern "web-["`},
		{"/api/status?limit=-1", `limit: want a number >= 0, found "-1"`},
		{"/api/status?offset=x", `offset: want a number >= 0, found "x"`},
		{"/?state=redy", `state: no state "redy"`},
		{"/?group=host", `group: want state, target or none, found "host"`},
		{"/?page=0", `page: want a number >= 1, found "0"`},
		{"/?per=many", `per: want a number >= 1, found "many"`},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			resp := get(t, h, http.MethodGet, tc.path)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tc.want) {
				t.Errorf("status %d, body %q; want 400 with %q", resp.StatusCode, body, tc.want)
			}
		})
	}
}

// estate returns a store of n units over three targets (eu, us, asia in
// turn): unit i failed when i%7 == 3, else blocked when i%11 == 5, else
// ready.
func estate(n int) *Store {
	s := NewStore()
	for i := range n {
		name := fmt.Sprintf("u%05d", i)
		u := UnitStatus{Name: name, Target: []string{"eu", "us", "asia"}[i%3], State: StateReady, Ready: true,
			Revision: revGood, LastAttemptedRevision: revGood, LastAttempt: testNow.Add(-time.Minute),
			LastSuccess: testNow.Add(-time.Minute), NextRun: testNow.Add(time.Hour),
			LastResult: &reconcile.ChangeSet{Unit: name, Revision: revGood, Changes: []reconcile.Change{
				{Host: "local", Object: reconcile.ObjectID{Group: "machine.steward.dev", Kind: "File", Name: "f0"}, Action: reconcile.Unchanged},
				{Host: "local", Object: reconcile.ObjectID{Group: "machine.steward.dev", Kind: "File", Name: "f1"}, Action: reconcile.Configured,
					Diff: "--- live\n+++ git\n@@ -1 +1 @@\n-v0\n+v1\n"},
			}}}
		switch {
		case i%7 == 3:
			u.State, u.Ready, u.LastError = StateFailed, false, "apply: disk full"
		case i%11 == 5:
			u.State, u.Ready, u.Message = StateBlocked, false, "waiting for dependency"
		}
		s.Set(u)
	}
	s.MarkReady()
	return s
}

var (
	rowRE   = regexp.MustCompile(`<tr class="unit row-([a-z]+)" id="unit-(u[0-9]+)"`)
	groupRE = regexp.MustCompile(`<tr class="group" id="group-([a-z]+)">`)
)

// pageRows returns the (state, unit) of every row of the page at target,
// its group headings and its body.
func pageRows(t *testing.T, h http.Handler, target string) (rows [][2]string, groups []string, body string) {
	t.Helper()
	resp := get(t, h, http.MethodGet, target)
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", target, resp.StatusCode, b)
	}
	for _, m := range rowRE.FindAllStringSubmatch(string(b), -1) {
		rows = append(rows, [2]string{m[1], m[2]})
	}
	for _, m := range groupRE.FindAllStringSubmatch(string(b), -1) {
		groups = append(groups, m[1])
	}
	return rows, groups, string(b)
}

func TestPageFailingFirstPagedAndGrouped(t *testing.T) {
	const n = 250 // 36 failed, 20 blocked, 194 ready
	h := newHandler(estate(n), func() time.Time { return testNow })

	rows, groups, body := pageRows(t, h, "/")
	if len(rows) != defaultPerPage {
		t.Fatalf("first page: %d rows, want %d", len(rows), defaultPerPage)
	}
	for i, r := range rows {
		want := StateReady
		switch {
		case i < 36:
			want = StateFailed
		case i < 56:
			want = StateBlocked
		}
		if r[0] != want {
			t.Fatalf("row %d: %s is %s, want %s (failing first, then blocked, then ready)", i, r[1], r[0], want)
		}
	}
	if rows[0][1] != "u00003" || rows[36][1] != "u00005" {
		t.Errorf("within a state, units keep store order: first failed %s, first blocked %s", rows[0][1], rows[36][1])
	}
	if !slices.Equal(groups, []string{"failed", "blocked", "ready"}) {
		t.Errorf("groups %v", groups)
	}
	for _, want := range []string{"units 1–100 of 250", "page 1 of 3", `href="/?page=2" rel="next"`, `href="/?state=failed"`} {
		if !strings.Contains(body, want) {
			t.Errorf("first page lacks %q", want)
		}
	}
	if strings.Contains(body, `rel="prev"`) {
		t.Error("first page links to a previous one")
	}

	rows, groups, body = pageRows(t, h, "/?page=3")
	if len(rows) != 50 || rows[0][0] != StateReady || !slices.Equal(groups, []string{"ready"}) {
		t.Errorf("last page: %d rows, groups %v", len(rows), groups)
	}
	if !strings.Contains(body, "units 201–250 of 250") || !strings.Contains(body, `href="/?page=2" rel="prev"`) || strings.Contains(body, `rel="next"`) {
		t.Error("last page navigation wrong")
	}

	rows, _, body = pageRows(t, h, "/?state=failed&target=eu&per=5")
	if len(rows) != 5 || !strings.Contains(body, "units 1–5 of 12") {
		t.Errorf("filtered page: %d rows", len(rows))
	}
	for _, r := range rows {
		if r[0] != StateFailed {
			t.Errorf("state filter let %s (%s) through", r[1], r[0])
		}
	}
	if !strings.Contains(body, `href="/?page=2&amp;per=5&amp;state=failed&amp;target=eu" rel="next"`) {
		t.Errorf("next link drops the filters:\n%s", body[strings.Index(body, `<nav class="pager">`):][:300])
	}

	rows, groups, _ = pageRows(t, h, "/?group=target&per=1000")
	if len(rows) != n || !slices.Equal(groups, []string{"asia", "eu", "us"}) {
		t.Fatalf("by target: %d rows, groups %v", len(rows), groups)
	}
	seenReady := map[string]bool{} // within each target, failing units come first
	for _, r := range rows {
		var i int
		if _, err := fmt.Sscanf(r[1], "u%d", &i); err != nil {
			t.Fatal(err)
		}
		target := []string{"eu", "us", "asia"}[i%3]
		if r[0] == StateReady {
			seenReady[target] = true
		} else if seenReady[target] {
			t.Fatalf("target %s: %s (%s) after a ready unit", target, r[1], r[0])
		}
	}

	rows, groups, _ = pageRows(t, h, "/?group=none&unit=u0000*")
	if len(rows) != 10 || len(groups) != 0 {
		t.Errorf("ungrouped, unit glob: %d rows, groups %v", len(rows), groups)
	}
	_, _, body = pageRows(t, h, "/?unit=nothing")
	if !strings.Contains(body, "No units match the filters.") || !strings.Contains(body, "clear filters") {
		t.Error("an empty filtered page does not say so")
	}
}

// TestQueryCopiesOnlyThePage keeps the status store's hot path fixed: a
// page of 10 units costs the same allocations from a store of 200 units as
// from one of 2000 (the page and the API used to copy every unit's status
// and change set on each request).
func TestQueryCopiesOnlyThePage(t *testing.T) {
	allocs := map[int]float64{}
	for _, n := range []int{200, 2000} {
		s := estate(n)
		allocs[n] = testing.AllocsPerRun(20, func() {
			if res := s.Query(Query{States: []string{StateReady}, Limit: 10}, ByState); len(res.Units) != 10 {
				t.Fatalf("%d units", len(res.Units))
			}
		})
	}
	if allocs[2000] > allocs[200]+2 {
		t.Errorf("a 10-unit query allocates %.0f times over 2000 units, %.0f over 200: it grows with the store", allocs[2000], allocs[200])
	}
}

// BenchmarkStatusPage serves the status page (a first page, a page deep
// into a grouping) and /api/status (filtered, whole) over 10 000 units;
// goal: a page in under 1 s.
func BenchmarkStatusPage(b *testing.B) {
	h := newHandler(estate(10000), func() time.Time { return testNow })
	for _, target := range []string{"/", "/?group=target&page=50", "/api/status?state=failed", "/api/status"} {
		b.Run(target, func(b *testing.B) {
			for range b.N {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d", rec.Code)
				}
			}
			ms := float64(b.Elapsed().Microseconds()) / 1000 / float64(b.N)
			b.ReportMetric(ms, "ms/request")
			b.Logf("GET %s over 10 000 units: %.1f ms (goal for the page: < 1000 ms)", target, ms)
		})
	}
}
