package reconcile

import (
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
)

// TestCacheKeepsOneCopy keeps the memory hot path fixed: the generation
// cache keeps the objects it returns, so an estate's objects are held once
// whether they were generated or came from the cache, at any size (a deep
// copy on store and another on every lookup held two to three copies of
// 40 000 objects at 10 000 units).
func TestCacheKeepsOneCopy(t *testing.T) {
	for _, n := range []int{10, 100} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var stack strings.Builder
			stack.WriteString("apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: out}}\nunits:\n")
			tree := fstest.MapFS{}
			for i := range n {
				fmt.Fprintf(&stack, "  - {name: u%d, path: u%d, generator: {yaml: {}}, target: here}\n", i, i)
				tree[fmt.Sprintf("u%d/a.yaml", i)] = &fstest.MapFile{Data: []byte(cm(fmt.Sprintf("u%d-a", i), "1") + "---\n" + cm(fmt.Sprintf("u%d-b", i), "2"))}
			}
			tree["steward.yaml"] = &fstest.MapFile{Data: []byte(stack.String())}
			cache := NewCache("", "test")
			var calls atomic.Int32
			first := renderStack(t, tree, cache, &calls)
			second := renderStack(t, tree, cache, &calls)
			if calls.Load() != int32(n) {
				t.Fatalf("%d generations for %d units, want one each (the second render is cached)", calls.Load(), n)
			}
			copies := 0
			for i := range first {
				if !second[i].Cached || len(second[i].Objects) != 2 {
					t.Fatalf("unit %s: cached %v, %d objects", second[i].Unit.Name, second[i].Cached, len(second[i].Objects))
				}
				for j, o := range second[i].Objects {
					if reflect.ValueOf(o.Object).UnsafePointer() != reflect.ValueOf(first[i].Objects[j].Object).UnsafePointer() {
						copies++
					}
				}
			}
			if copies != 0 {
				t.Errorf("%d of %d objects were copied between the generation, the cache and the cached render", copies, 2*n)
			}
		})
	}
}
