package reconcile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv"
)

func TestUnifiedDiffMatchesGNUDiff(t *testing.T) {
	diffBin, err := exec.LookPath("diff")
	if err != nil {
		testenv.Missing(t, "no diff(1) to compare with")
	}
	tests := []struct{ name, a, b string }{
		{"equal", "a\nb\n", "a\nb\n"},
		{"append", "a\nb\n", "a\nb\nc\n"},
		{"delete all", "a\nb\n", ""},
		{"from empty", "", "x\ny\n"},
		{"middle", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "1\n2\n3\n4\n5\nsix\n7\n8\n9\n10\n11\n12\n"},
		{"two hunks", strings.Repeat("l\n", 20) + "a\n" + strings.Repeat("m\n", 20) + "b\n", strings.Repeat("l\n", 20) + "A\n" + strings.Repeat("m\n", 20) + "B\n"},
		{"no newline", "a\nb", "a\nc"},
		{"interleaved", "a\nb\nc\nd\ne\n", "b\nx\nc\ne\nf\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := UnifiedDiff("old", "new", tt.a, tt.b)
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "old"), []byte(tt.a), 0o644))
			must(t, os.WriteFile(filepath.Join(dir, "new"), []byte(tt.b), 0o644))
			cmd := exec.Command(diffBin, "-u", "--label", "old", "--label", "new", "old", "new")
			cmd.Dir = dir
			want, _ := cmd.Output() // exit 1 means "differs"
			if got != string(want) {
				t.Fatalf("got\n%s\nwant (diff -u)\n%s", got, want)
			}
		})
	}
}

// TestUnifiedDiffApplies checks, for edits GNU diff may render differently
// but equally validly, that the diff rebuilds b from a.
func TestUnifiedDiffApplies(t *testing.T) {
	a := "k: 1\nl: 2\nm: 3\nn: 4\n"
	b := "l: 2\nk: 1\nm: 30\nn: 4\no: 5\n"
	d := UnifiedDiff("a", "b", a, b)
	var old, cur []string
	for _, line := range strings.Split(strings.TrimSuffix(d, "\n"), "\n")[2:] {
		switch {
		case strings.HasPrefix(line, "@@"):
		case strings.HasPrefix(line, "-"):
			old = append(old, line[1:])
		case strings.HasPrefix(line, "+"):
			cur = append(cur, line[1:])
		default:
			old = append(old, line[1:])
			cur = append(cur, line[1:])
		}
	}
	if got := strings.Join(cur, "\n") + "\n"; got != b {
		t.Fatalf("new side of the diff is\n%s\nwant\n%s", got, b)
	}
	if got := strings.Join(old, "\n") + "\n"; got != a {
		t.Fatalf("old side of the diff is\n%s\nwant\n%s", got, a)
	}
}

func FuzzUnifiedDiff(f *testing.F) {
	f.Add("a\nb\nc\n", "a\nc\nd\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		d := UnifiedDiff("a", "b", a, b)
		if (d == "") != (a == b) {
			t.Fatalf("diff empty=%v for equal=%v", d == "", a == b)
		}
	})
}
