package main

import (
	"strings"
	"testing"
)

// A --generator-memory that is not a size, or too small to start a Go
// child, is a usage error naming the flag.
func TestGeneratorMemoryFlag(t *testing.T) {
	for _, v := range []string{"lots", "1Mi", "-2Gi"} {
		code, _, stderr := run(t, "build", "-C", t.TempDir(), "--generator-memory", v)
		if code != 2 || !strings.Contains(stderr, "--generator-memory: want a size of at least 16Mi") {
			t.Errorf("%s: exit %d, %s", v, code, stderr)
		}
	}
}
