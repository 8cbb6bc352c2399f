package packages_test

import (
	"testing"

	"github.com/stewardhq/steward/sources/packages"
)

// FuzzParseLock: any input is a lock or an error, never a panic, and a
// parsed lock marshals to one that parses to the same entries.
func FuzzParseLock(f *testing.F) {
	f.Add([]byte("apiVersion: steward.dev/v1\nkind: Lock\npackages:\n  - {unit: a, package: {git: x, channel: stable}, version: v1.0.0, ref: refs/tags/v1.0.0, commit: abc, hash: sha256:00}\n"))
	f.Add([]byte("kind: Lock\n"))
	f.Add([]byte("packages: [{unit: [1]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := packages.ParseLock(data)
		if err != nil {
			return
		}
		b, err := l.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := packages.ParseLock(b)
		if err != nil || len(again.Packages) != len(l.Packages) {
			t.Fatalf("round trip: %v (%d entries, was %d)", err, len(again.Packages), len(l.Packages))
		}
	})
}
