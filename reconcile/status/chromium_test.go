package status

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/stewardhq/steward/deploy/testenv"
)

// chromium returns Debian's chromium, or reports it missing.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"chromium", "/usr/bin/chromium"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	testenv.Missing(t, "chromium not installed (deploy/testenv/install-deps.sh chromium)")
	return ""
}

// runChromium runs headless chromium on a loopback URL with a fresh profile
// and nothing reaching out to the network, and returns its stdout.
func runChromium(t *testing.T, bin, url string, args ...string) []byte {
	t.Helper()
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("refusing non-loopback URL %s", url)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir(),
	}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// TestPageInChromium loads the status page in a real browser, asserts on the
// DOM it rendered, and writes screenshots (collapsed and expanded) under the
// test's temp dir; STEWARD_SCREENSHOT_DIR keeps copies for a human to look at.
func TestPageInChromium(t *testing.T) {
	bin := chromium(t)
	srv := httptest.NewServer(newHandler(fixtureStore(), func() time.Time { return testNow }))
	defer srv.Close()

	dom := runChromium(t, bin, srv.URL+"/", "--dump-dom")
	doc, err := html.Parse(bytes.NewReader(dom))
	if err != nil {
		t.Fatalf("parse dumped DOM: %v", err)
	}

	if n := len(findAll(doc, func(n *html.Node) bool { return n.Data == "script" })); n != 0 {
		t.Errorf("rendered page has %d <script> elements; the error text was not escaped", n)
	}
	if n := len(findAll(doc, func(n *html.Node) bool { return n.Data == "b" })); n != 0 {
		t.Errorf("rendered page has %d <b> elements from error text", n)
	}
	snap := fixtureStore().Snapshot()
	for _, u := range snap.Units {
		rows := findAll(doc, func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-unit") == u.Name })
		if len(rows) != 1 {
			t.Errorf("unit %s: %d rows in the DOM, want 1", u.Name, len(rows))
			continue
		}
		row := rows[0]
		if got := text(first(row, hasClass("unit-name"))); got != u.Name {
			t.Errorf("unit %s: name cell %q", u.Name, got)
		}
		if got := text(first(first(row, hasClass("state")), hasClass("badge"))); got != u.State {
			t.Errorf("unit %s: state badge %q, want %q", u.Name, got, u.State)
		}
		if u.Revision != "" {
			if got := text(first(row, hasClass("revision"))); !strings.HasPrefix(got, u.Revision[:7]) {
				t.Errorf("unit %s: revision cell %q, want it to start with %s", u.Name, got, u.Revision[:7])
			}
		}
		errNode := first(row, hasClass("error"))
		switch {
		case u.LastError == "" && errNode != nil:
			t.Errorf("unit %s: error shown without one", u.Name)
		case u.LastError != "" && text(errNode) != u.LastError:
			t.Errorf("unit %s: error text %q, want exactly %q", u.Name, text(errNode), u.LastError)
		}
	}

	web := first(doc, func(n *html.Node) bool { return attr(n, "data-unit") == "web-hosts" })
	if got := text(first(web, hasClass("attempted"))); got != "tried "+revBad[:7] {
		t.Errorf("web-hosts attempted revision %q", got)
	}
	details := first(web, func(n *html.Node) bool { return n.Data == "details" })
	if details == nil {
		t.Fatal("web-hosts: no <details> with its change set")
	}
	if _, open := attrOK(details, "open"); open {
		t.Error("change set open by default")
	}
	summary := text(first(details, func(n *html.Node) bool { return n.Data == "summary" }))
	for _, want := range []string{"1 configured", "1 failed", "1 skipped"} {
		if !strings.Contains(summary, want) {
			t.Errorf("web-hosts summary %q lacks %q", summary, want)
		}
	}
	list := text(first(details, func(n *html.Node) bool { return n.Data == "ul" }))
	for _, want := range []string{"web2:22 Unit/app.service", "systemctl restart app.service: exit status 1", "web1:22 File/motd"} {
		if !strings.Contains(list, want) {
			t.Errorf("web-hosts change list lacks %q:\n%s", want, list)
		}
	}

	srcErr := text(first(doc, func(n *html.Node) bool { return attr(n, "id") == "source-error" }))
	if !strings.Contains(srcErr, "connection refused") {
		t.Errorf("source error %q", srcErr)
	}
	if strings.Contains(string(dom), "s3cr3t-token") {
		t.Error("credential rendered on the page")
	}
	if got := text(first(doc, func(n *html.Node) bool { return attr(n, "id") == "source-revision" })); got != revBad[:7] {
		t.Errorf("source revision %q", got)
	}

	// Screenshots: the page as it opens, and with every change list open.
	dir := t.TempDir()
	for _, shot := range []struct{ name, query string }{{"status.png", ""}, {"status-expanded.png", "?expand=1"}} {
		path := filepath.Join(dir, shot.name)
		runChromium(t, bin, srv.URL+"/"+shot.query, "--screenshot="+path, "--window-size=1440,1000")
		checkScreenshot(t, path)
		if keep := os.Getenv("STEWARD_SCREENSHOT_DIR"); keep != "" {
			b, _ := os.ReadFile(path)
			if err := os.WriteFile(filepath.Join(keep, shot.name), b, 0o644); err != nil {
				t.Error(err)
			}
		}
	}
}

// checkScreenshot asserts path is a PNG of the window's size showing more
// than a blank page.
func checkScreenshot(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot %s: %v", filepath.Base(path), err)
	}
	if b := img.Bounds(); b.Dx() != 1440 || b.Dy() != 1000 {
		t.Errorf("screenshot %s is %v, want 1440x1000", filepath.Base(path), b.Size())
	}
	if n := colours(img); n < 64 {
		t.Errorf("screenshot %s has %d colours: blank or unstyled page", filepath.Base(path), n)
	}
}

func colours(img image.Image) int {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r >> 8, g >> 8, bl >> 8}] = true
		}
	}
	return len(seen)
}

func findAll(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func first(n *html.Node, match func(*html.Node) bool) *html.Node {
	if n == nil {
		return nil
	}
	if all := findAll(n, match); len(all) > 0 {
		return all[0]
	}
	return nil
}

func hasClass(c string) func(*html.Node) bool {
	return func(n *html.Node) bool { return strings.Contains(" "+attr(n, "class")+" ", " "+c+" ") }
}

func attr(n *html.Node, key string) string {
	v, _ := attrOK(n, key)
	return v
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// text is the text content of n, whitespace runs collapsed, except inside
// <pre> where it is kept as it is.
func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	if n.Data == "pre" {
		return b.String()
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
