// Package testenv holds what the test helpers for real components share:
// where the built test binaries live, and the rule that a missing component
// fails the test under CI and skips it elsewhere. The components themselves
// are started by the packages below it: testenv/kube (kube-apiserver + etcd),
// testenv/sshd (Debian's openssh-server), testenv/gitserver (git
// http-backend), testenv/registry (the distribution registry),
// testenv/realhost (Debian guests booted with systemd-nspawn).
package testenv

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

// BinDir is where `make testenv` puts the binaries it builds:
// $STEWARD_TESTENV_BIN, else ~/.cache/steward/testenv/bin.
func BinDir() string {
	if d := os.Getenv("STEWARD_TESTENV_BIN"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "steward-testenv", "bin")
	}
	return filepath.Join(home, ".cache", "steward", "testenv", "bin")
}

// InCI reports whether the CI environment variable is set.
func InCI() bool { return os.Getenv("CI") != "" }

// Missing reports a component the test cannot find: under CI it fails the
// test (CI must never skip real components), elsewhere it skips it.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("testenv: "+format+" (CI is set: run `make testenv`)", args...)
	}
	tb.Skipf("testenv: "+format+" (run `make testenv`)", args...)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
