//go:build !linux

package main

// nonDumpable is Linux only; elsewhere scrubbing the environment is all.
func nonDumpable() error { return nil }
