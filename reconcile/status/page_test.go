package status

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestPageGolden renders the fixture and compares it with
// testdata/page.golden.html; run with -update after an intended change and
// look at the page (TestPageInChromium writes a screenshot).
func TestPageGolden(t *testing.T) {
	h := newHandler(fixtureStore(), func() time.Time { return testNow })
	b, err := io.ReadAll(get(t, h, "GET", "/").Body)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "page.golden.html")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(b) != string(want) {
		t.Errorf("page differs from %s (run with -update if intended):\n%s", golden, firstDiff(string(want), string(b)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n- " + w + "\n+ " + g
		}
	}
	return ""
}

func TestShortRev(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{revGood, "3f9a1c2"},
		{"v1.2.0@sha1:" + revGood, "v1.2.0@sha1:3f9a1c2"},
		{"main@" + revGood, "main@3f9a1c2"},
		{"v1.2.0", "v1.2.0"},
		{"abc", "abc"},
		{"ZZZZZZZZZZZZZZZZ", "ZZZZZZZZZZZZZZZZ"},
	}
	for _, tt := range tests {
		if got := shortRev(tt.in); got != tt.want {
			t.Errorf("shortRev(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRelTime(t *testing.T) {
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Time{}, "—"},
		{testNow, "now"},
		{testNow.Add(-42 * time.Second), "42s ago"},
		{testNow.Add(-3 * time.Minute), "3m ago"},
		{testNow.Add(-(2*time.Hour + 5*time.Minute)), "2h5m ago"},
		{testNow.Add(-30 * time.Hour), "30h ago"},
		{testNow.Add(-72 * time.Hour), "3d ago"},
		{testNow.Add(90 * time.Second), "in 1m"},
	}
	for _, tt := range tests {
		if got := relTime(tt.at, testNow).Rel; got != tt.want {
			t.Errorf("relTime(%v) = %q, want %q", tt.at, got, tt.want)
		}
	}
}
