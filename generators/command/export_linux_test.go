package command

import "testing"

// SetMemoryDirs makes dirs the only candidates for a memory-backed work
// tree during t.
func SetMemoryDirs(t *testing.T, dirs ...string) {
	prev := memoryDirs
	memoryDirs = func() []string { return dirs }
	t.Cleanup(func() { memoryDirs = prev })
}
