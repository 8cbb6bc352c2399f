package helm

import (
	"fmt"
	"strings"
	"testing"
)

func TestSplitManifest(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []section
	}{
		{"empty", "", nil},
		{"one", "---\n# Source: c/templates/a.yaml\nkind: A\n", []section{{"c/templates/a.yaml", "kind: A\n"}}},
		{"two, crd with inner separator", "---\n# Source: c/crds/x.yaml\nkind: X\n---\nkind: Y\n\n---\n# Source: c/templates/b.yaml\nkind: B\n",
			[]section{{"c/crds/x.yaml", "kind: X\n---\nkind: Y\n\n"}, {"c/templates/b.yaml", "kind: B\n"}}},
		{"text before the first header", "kind: Z\n---\n# Source: c/t.yaml\nkind: T", []section{{"", "kind: Z\n"}, {"c/t.yaml", "kind: T"}}},
		{"crlf", "---\r\n# Source: c/t.yaml\r\nkind: T\r\n", []section{{"c/t.yaml", "kind: T\r\n"}}},
		{"separator at the end", "---\n# Source: c/t.yaml\nkind: T\n---", []section{{"c/t.yaml", "kind: T\n---"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitManifest(tt.in)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("splitManifest(%q)\n got %q\nwant %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRepoFile(t *testing.T) {
	tests := []struct{ dir, src, want string }{
		{"apps/web", "web/templates/a.yaml", "apps/web/templates/a.yaml"},
		{".", "web/charts/db/templates/s.yaml", "charts/db/templates/s.yaml"},
		{"apps/web", "", "apps/web"},
		{"apps/web", "odd", "apps/web/odd"},
	}
	for _, tt := range tests {
		if got := repoFile(tt.dir, tt.src); got != tt.want {
			t.Errorf("repoFile(%q, %q) = %q, want %q", tt.dir, tt.src, got, tt.want)
		}
	}
}

// FuzzSplitManifest checks that splitting never panics, drops nothing but
// the headers, and that a manifest built from sections splits back into them.
func FuzzSplitManifest(f *testing.F) {
	f.Add("---\n# Source: c/templates/a.yaml\nkind: A\n")
	f.Add("kind: Z\n---\n# Source: c/t.yaml\nkind: T\n---\nkind: U")
	f.Add("---\r\n# Source: \r\n\r\n---\n---\n# Source: x\n")
	f.Fuzz(func(t *testing.T, m string) {
		secs := splitManifest(m)
		var n int
		for _, s := range secs {
			n += len(s.Content)
			if !strings.Contains(m, s.Content) {
				t.Fatalf("section content %q not in input", s.Content)
			}
		}
		if n > len(m) {
			t.Fatalf("sections hold %d bytes, input has %d", n, len(m))
		}
		// Rebuild the way helm writes a manifest and split again.
		var b strings.Builder
		var want []section
		for i, s := range secs {
			src := fmt.Sprintf("chart/templates/t%d.yaml", i)
			content := strings.ReplaceAll(s.Content, sourcePrefix, "#")
			if strings.TrimSpace(content) == "" {
				continue
			}
			if !strings.HasSuffix(content, "\n") {
				content += "\n"
			}
			fmt.Fprintf(&b, "---\n%s%s\n%s", sourcePrefix, src, content)
			want = append(want, section{src, content})
		}
		if got := splitManifest(b.String()); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) {
			t.Fatalf("round trip of %q\n got %q\nwant %q", b.String(), got, want)
		}
	})
}
