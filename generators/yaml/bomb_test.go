package yaml

import (
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stewardhq/steward/reconcile"
)

// A 1 MB scalar aliased 1000 times decodes to a gigabyte once printed: it
// is refused naming the file and line, without that gigabyte ever being
// built.
func TestAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  big: &big " + strings.Repeat("x", 1<<20) + "\n")
	for i := range 1000 {
		b.WriteString("  k" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + ": *big\n")
	}
	tree := fstest.MapFS{"u/bomb.yaml": {Data: []byte(b.String())}}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := New(nil).Generate(t.Context(), reconcile.GenerateRequest{Tree: tree, Dir: "u"})
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "u/bomb.yaml:") || !strings.Contains(err.Error(), "expands to more than 64 MiB") {
		t.Fatalf("err = %v, want the byte cap naming u/bomb.yaml", err)
	}
	t.Logf("%v; allocated %d MiB decoding a %d KiB file", err, (after.TotalAlloc-before.TotalAlloc)>>20, b.Len()>>10)
}
