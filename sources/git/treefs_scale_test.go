package git

import (
	"fmt"
	"io/fs"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
)

// TestTreeFSLookupIsIndexed keeps the hot path of generating many units
// fixed: resolving a path below a directory of n entries (units/ of a
// 10 000-unit stack) compares a bounded number of entries at any n, where a
// scan compared n/2 on average for every unit.
func TestTreeFSLookupIsIndexed(t *testing.T) {
	for _, n := range []int{100, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := gitserver.NewLocalRepo(t)
			files := map[string]string{"steward.yaml": "kind: Stack\n"}
			for i := range n {
				files[fmt.Sprintf("units/u%04d/files.yaml", i)] = fmt.Sprintf("n: %d\n", i)
			}
			head := r.Commit(t, "units", files)
			tree := openTree(t, r.Work, head)
			for i := range n {
				name := fmt.Sprintf("units/u%04d/files.yaml", i)
				data, err := fs.ReadFile(tree, name)
				if err != nil || string(data) != fmt.Sprintf("n: %d\n", i) {
					t.Fatalf("%s: %q, %v", name, data, err)
				}
			}
			if _, err := fs.Stat(tree, "units/u9999x"); err == nil {
				t.Fatal("a missing entry of a large tree was found")
			}
			// Three levels (root, units/, uNNNN/), each a short scan or a
			// map lookup.
			const bound = 3 * 32
			if per := float64(tree.scanned.Load()) / float64(n); per > bound {
				t.Errorf("%d units: %.0f tree entries compared per lookup, want at most %d", n, per, bound)
			}
		})
	}
}
