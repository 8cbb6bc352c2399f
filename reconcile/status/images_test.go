package status

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestImagesSection(t *testing.T) {
	s := NewStore()
	h := newHandler(s, func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) })
	get := func(path string) string {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Body.String()
	}
	if strings.Contains(get("/"), `id="images"`) || strings.Contains(get("/api/status"), `"images"`) {
		t.Fatal("images section without image automation")
	}
	s.SetImages(ImagesStatus{
		LastScan: time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC),
		Error:    "push to main refused: push https://bot:hunter2@git.example.com/shop.git: pre-receive hook declined",
		Policies: []ImagePolicyStatus{
			{Name: "app", Image: "registry.example.com/team/app", Tag: "1.2.0"},
			{Name: "web", Image: "registry.example.com/team/web", Error: "no tag matches the policy"},
		},
		LastCommit: "0123456789ab", Branch: "main",
	})
	page := get("/")
	for _, want := range []string{`id="images"`, "2026-01-02T03:00:00Z", `<tr id="image-app">`, "1.2.0", "no tag matches the policy", "pre-receive hook declined", "0123456789ab"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	var snap Snapshot
	if err := json.Unmarshal([]byte(get("/api/status")), &snap); err != nil {
		t.Fatal(err)
	}
	if snap.Images == nil || len(snap.Images.Policies) != 2 || snap.Images.Policies[0].Tag != "1.2.0" || !strings.Contains(snap.Images.Error, "declined") {
		t.Fatalf("api images = %+v", snap.Images)
	}
	if strings.Contains(page, "hunter2") || strings.Contains(snap.Images.Error, "hunter2") {
		t.Fatal("credentials reached the status")
	}
}
