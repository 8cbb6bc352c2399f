package registry

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestStartPushList(t *testing.T) {
	r := Start(t, Options{MaxTags: 2})
	created := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	d1 := r.PushAt(t, "team/app", "1.0.0", created)
	d2 := r.PushAt(t, "team/app", "1.1.0", created.Add(time.Hour))
	if d1 == d2 {
		t.Fatalf("two pushes with different created times have one digest %s", d1)
	}
	r.Tags(t, "team/app", Image(t, created, "x"), []string{"a", "b", "c"})

	// MaxTags 2: the first page has two tags and a Link to the next.
	resp, err := http.Get(r.URL() + "/v2/team/app/tags/list?n=10")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Tags []string }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if len(page.Tags) != 2 || resp.Header.Get("Link") == "" {
		t.Fatalf("first page = %v, Link %q; want 2 tags and a Link", page.Tags, resp.Header.Get("Link"))
	}
	if !slices.Equal(page.Tags, []string{"1.0.0", "1.1.0"}) {
		t.Fatalf("first page = %v", page.Tags)
	}
}

func TestSeedTags(t *testing.T) {
	r := Start(t, Options{})
	img := Image(t, time.Unix(0, 0), "seed")
	tags := []string{"a", "b", "c", "d"}
	r.SeedTags(t, "seeded/app", img, tags)
	resp, err := http.Get(r.URL() + "/v2/seeded/app/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	var page struct{ Tags []string }
	err = json.NewDecoder(resp.Body).Decode(&page)
	resp.Body.Close()
	if err != nil || !slices.Equal(page.Tags, tags) {
		t.Fatalf("seeded tags listed as %v, %v", page.Tags, err)
	}
	want, _ := img.Digest()
	req, _ := http.NewRequest(http.MethodHead, r.URL()+"/v2/seeded/app/manifests/d", nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != want.String() {
		t.Fatalf("seeded tag d: status %d digest %q, want 200 %s", resp.StatusCode, resp.Header.Get("Docker-Content-Digest"), want)
	}
}

func TestAuth(t *testing.T) {
	r := Start(t, Options{User: "robot", Password: "s3cret"})
	r.PushAt(t, "app", "1", time.Unix(0, 0)) // Push authenticates itself
	resp, err := http.Get(r.URL() + "/v2/app/tags/list")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous tag list: status %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, r.URL()+"/v2/app/tags/list", nil)
	req.SetBasicAuth("robot", "s3cret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authenticated tag list: status %d, want 200", resp.StatusCode)
	}
}
