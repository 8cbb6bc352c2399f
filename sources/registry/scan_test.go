package registry

import (
	"errors"
	"net/http"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	testregistry "github.com/stewardhq/steward/deploy/testenv/registry"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/images"
)

// TestScanPolicies runs every policy kind of reconcile/images through this
// client against the real registry, with created times set by the test.
func TestScanPolicies(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	for tag, age := range map[string]time.Duration{
		"1.0.0": 72 * time.Hour, "1.1.0": 48 * time.Hour, "1.2.0": 2 * time.Hour,
		"1.3.0-beta.1": 90 * time.Minute, "1.3.0-rc.1": time.Hour, "2.0.0-alpha.1": 30 * time.Minute,
		"latest": time.Minute, "main-abc-100": 5 * time.Hour, "main-def-200": 4 * time.Hour,
	} {
		reg.PushAt(t, "team/app", tag, now.Add(-age))
	}
	reg.PushAt(t, "team/other", "3.0.0", now.Add(-time.Hour))
	f := newFaults(t, reg)
	o, _ := testOptions(f.Host)
	c := newClient(t, o)
	app, other := f.Host+"/team/app", f.Host+"/team/other"

	policies := []reconcile.ImagePolicy{
		{Name: "semver", Image: app, Semver: ">=1.0.0 <2"},
		{Name: "semver-minage", Image: app, Semver: ">=1.0.0 <2", MinAge: reconcile.Duration(24 * time.Hour)},
		{Name: "stable", Image: app, Channel: "stable"},
		{Name: "candidate", Image: app, Channel: "candidate"},
		{Name: "beta", Image: app, Channel: "beta"},
		{Name: "edge", Image: app, Channel: "edge"},
		{Name: "candidate-minage", Image: app, Channel: "candidate", MinAge: reconcile.Duration(80 * time.Minute)},
		{Name: "alpha-asc", Image: app, Alphabetical: "asc"},
		{Name: "alpha-desc", Image: app, Alphabetical: "desc"},
		{Name: "numerical-filter", Image: app, Numerical: "asc", Filter: &reconcile.TagFilter{Pattern: `^main-[a-z]+-(?P<ts>[0-9]+)$`, Extract: "$ts"}},
		{Name: "numerical-desc", Image: app, Numerical: "desc", Filter: &reconcile.TagFilter{Pattern: `^main-[a-z]+-(?P<ts>[0-9]+)$`, Extract: "$ts"}},
		{Name: "pinned", Image: app, Semver: "~1.2", Digest: "pin"},
		{Name: "no-match", Image: app, Semver: ">=5"},
		{Name: "all-too-young", Image: app, Semver: ">=1.2", MinAge: reconcile.Duration(1000 * time.Hour)},
		{Name: "other", Image: other, Semver: "*"},
	}
	want := map[string]string{
		"semver": "1.2.0", "semver-minage": "1.1.0", "stable": "1.2.0", "candidate": "1.3.0-rc.1",
		"beta": "1.3.0-rc.1", "edge": "2.0.0-alpha.1", "candidate-minage": "1.2.0",
		"alpha-asc": "main-def-200", "alpha-desc": "1.0.0", "numerical-filter": "main-def-200",
		"numerical-desc": "main-abc-100", "pinned": "1.2.0", "other": "3.0.0",
	}
	opts := images.DefaultOptions()
	opts.Now = func() time.Time { return now }
	choices := images.Scan(t.Context(), c.Scan(), policies, opts)
	for _, ch := range choices {
		w, ok := want[ch.Policy]
		switch {
		case !ok:
			if !errors.Is(ch.Err, images.ErrNoMatch) || ch.Tag != "" {
				t.Errorf("%s: %q, %v; want ErrNoMatch", ch.Policy, ch.Tag, ch.Err)
			}
		case ch.Err != nil || ch.Tag != w:
			t.Errorf("%s: %q, %v; want %q", ch.Policy, ch.Tag, ch.Err, w)
		}
	}
	byName := map[string]images.Choice{}
	for _, ch := range choices {
		byName[ch.Policy] = ch
	}
	if got := byName["semver-minage"].TooYoung; !slices.Equal(got, []string{"1.2.0"}) {
		t.Errorf("semver-minage passed over %v, want [1.2.0]", got)
	}
	if got := byName["candidate-minage"].TooYoung; !slices.Equal(got, []string{"1.3.0-rc.1"}) {
		t.Errorf("candidate-minage passed over %v, want [1.3.0-rc.1]", got)
	}
	pinned := byName["pinned"]
	if pinned.Digest == "" || pinned.Ref.String() != app+":1.2.0@"+pinned.Digest {
		t.Errorf("pinned ref = %s", pinned.Ref)
	}
	if r := byName["semver"].Ref; r.Digest != "" || r.String() != app+":1.2.0" {
		t.Errorf("unpinned ref = %s", r)
	}
	st := c.Stats()
	if f.count("/v2/team/app/tags/list") != 1 || f.count("/v2/team/other/tags/list") != 1 {
		t.Errorf("tag lists: app %d, other %d; want one each for %d policies", f.count("/v2/team/app/tags/list"), f.count("/v2/team/other/tags/list"), len(policies))
	}
	// Configs are read only for minAge (1.2.0 and 1.1.0 for one policy,
	// 1.3.0-rc.1 and the cached 1.2.0 for the other): a HEAD and a GET for
	// each of three digests, and three config blobs. The pinned policy
	// reuses the scan's HEAD of 1.2.0.
	if st.Manifests != 6 || st.Blobs != 3 {
		t.Errorf("manifest requests %d, blobs %d; want 6 and 3", st.Manifests, st.Blobs)
	}
	t.Logf("requests for %d policies over 2 repositories: %+v", len(policies), st)

	// The pinned tag is re-pushed with a new digest: the next scan pins it.
	d2 := reg.PushAt(t, "team/app", "1.2.0", now.Add(-time.Hour))
	again := images.Scan(t.Context(), c.Scan(), policies[11:12], opts)
	if again[0].Err != nil || again[0].Tag != "1.2.0" || again[0].Digest != d2.String() || again[0].Digest == pinned.Digest {
		t.Errorf("after re-push: %+v, want digest %s", again[0], d2)
	}
}

// TestScanRegistryFaults: a failing repository fails its policies and only
// them.
func TestScanRegistryFaults(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	reg.PushAt(t, "good", "1.0.0", time.Unix(0, 0))
	reg.PushAt(t, "broken", "1.0.0", time.Unix(0, 0))
	reg.PushAt(t, "throttled", "1.0.0", time.Unix(0, 0))
	f := newFaults(t, reg)
	f.inject = func(r *http.Request, n int64) (int, string) {
		switch r.URL.Path {
		case "/v2/broken/tags/list":
			return http.StatusInternalServerError, ""
		case "/v2/throttled/tags/list":
			return http.StatusTooManyRequests, "86400"
		}
		return 0, ""
	}
	o, _ := testOptions(f.Host)
	choices := images.Scan(t.Context(), newClient(t, o).Scan(), []reconcile.ImagePolicy{
		{Name: "good", Image: f.Host + "/good", Semver: "*"},
		{Name: "broken", Image: f.Host + "/broken", Semver: "*"},
		{Name: "broken-too", Image: f.Host + "/broken", Channel: "edge"},
		{Name: "throttled", Image: f.Host + "/throttled", Semver: "*"},
	}, images.DefaultOptions())
	if choices[0].Err != nil || choices[0].Tag != "1.0.0" {
		t.Fatalf("good: %+v", choices[0])
	}
	for i, status := range map[int]int{1: 500, 2: 500, 3: 429} {
		var re *Error
		if !errors.As(choices[i].Err, &re) || re.Status != status || choices[i].Tag != "" {
			t.Errorf("%s: %v, want a %d *Error and no tag", choices[i].Policy, choices[i].Err, status)
		}
	}
	if n := f.count("/v2/broken/tags/list"); n != 3 {
		t.Errorf("broken listed %d times, want 3 (one list, two retries) for two policies", n)
	}
}

// TestList is the data of `steward images list` through the real registry:
// per policy the chosen tag, the tags its markers hold, and the age.
func TestList(t *testing.T) {
	reg := testregistry.Start(t, testregistry.Options{})
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	reg.PushAt(t, "app", "1.0.0", now.Add(-72*time.Hour))
	reg.PushAt(t, "app", "1.1.0", now.Add(-3*time.Hour))
	reg.PushAt(t, "web", "2.0.0", now.Add(-time.Hour))
	stackYAML := "apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  t: {local: {root: out}}\n" +
		"units:\n  - {name: app, path: apps, generator: {yaml: {}}, target: t}\n" +
		"images:\n  insecureRegistries: [" + reg.Host + "]\n  policies:\n" +
		"    - {name: app, image: " + reg.Repo("app") + ", semver: '^1'}\n" +
		"    - {name: web, image: " + reg.Repo("web") + ", semver: '*', digest: pin}\n" +
		"    - {name: gone, image: " + reg.Repo("gone") + ", semver: '*'}\n"
	s, err := reconcile.ParseStack([]byte(stackYAML), "steward.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tree := fstest.MapFS{
		"apps/a.yaml": {Data: []byte("image: " + reg.Repo("app") + ":1.0.0 # {\"$imagepolicy\": \"app\"}\n" +
			"tag: 1.1.0 # {\"$imagepolicy\": \"app:tag\"}\n" +
			"web: " + reg.Repo("web") + ":2.0.0 # {\"$imagepolicy\": \"web\"}\n" +
			"stray: x:1 # {\"$imagepolicy\": \"nobody\"}\n")},
	}
	o, _ := testOptions(reg.Host)
	opts := images.DefaultOptions()
	opts.Now = func() time.Time { return now }
	list, warns, err := images.List(t.Context(), newClient(t, o).Scan(), s, tree, opts)
	var me *images.MarkerError
	if !errors.As(err, &me) || me.Marker.Policy != "nobody" || len(warns) != 0 {
		t.Fatalf("unknown marker: err = %v, warnings %v", err, warns)
	}
	if len(list) != 3 {
		t.Fatalf("%d listings, want 3", len(list))
	}
	app, web, gone := list[0], list[1], list[2]
	if app.Tag != "1.1.0" || app.Age != 3*time.Hour || !slices.Equal(app.InGit(), []string{"1.0.0", "1.1.0"}) || app.UpToDate() {
		t.Errorf("app: tag %q age %s in git %v up to date %v", app.Tag, app.Age, app.InGit(), app.UpToDate())
	}
	if web.Tag != "2.0.0" || web.Digest == "" || !slices.Equal(web.InGit(), []string{"2.0.0"}) || web.UpToDate() {
		t.Errorf("web (pinned, marker without digest): tag %q digest %q in git %v up to date %v", web.Tag, web.Digest, web.InGit(), web.UpToDate())
	}
	if gone.Err == nil || !errors.Is(gone.Err, ErrNotFound) || len(gone.Markers) != 0 {
		t.Errorf("gone: %+v", gone)
	}
}
