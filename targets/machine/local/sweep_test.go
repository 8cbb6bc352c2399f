package local

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/targets/machine"
)

// TestLocalWriteListsDirectoryOnce keeps the hot path of a many-unit pass
// fixed: writing n files into one directory (the inventory directory holds
// one per unit) lists that directory once, at any n, where every write used
// to list it (n² entries read per pass). Temporaries a killed writer left
// are still removed, each when its file is next written.
func TestLocalWriteListsDirectoryOnce(t *testing.T) {
	for _, n := range []int{20, 200} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "var/lib/steward")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			// Left by a killed writer of an earlier process.
			old := time.Now().Add(-time.Hour)
			abandoned := []string{".u0.json.steward-0123456789abcdef", ".u1.json.steward-fedcba9876543210"}
			for _, name := range abandoned {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte("half"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
			}
			tr, err := NewTransport("h", root, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			write := func(i int) {
				t.Helper()
				p := fmt.Sprintf("/var/lib/steward/u%d.json", i)
				if err := tr.WriteFile(t.Context(), p, strings.NewReader("{}\n"), machine.FileAttrs{UID: -1, GID: -1}); err != nil {
					t.Fatal(err)
				}
			}
			write(0)
			if l := leftovers(t, dir); len(l) != 1 || l[0] != abandoned[1] {
				t.Fatalf("after writing u0.json, temporaries %v, want only %s", l, abandoned[1])
			}
			for i := 1; i < n; i++ {
				write(i)
			}
			if l := leftovers(t, dir); len(l) > 0 {
				t.Fatalf("temporaries left after writing every file: %v", l)
			}
			sweeps.mu.Lock()
			listed := sweeps.listings[filepath.Join(root)+"\x00var/lib/steward/"]
			sweeps.mu.Unlock()
			if listed != 1 {
				t.Errorf("%d writes listed the directory %d times, want 1", n, listed)
			}
		})
	}
}
