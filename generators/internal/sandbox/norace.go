//go:build !race

package sandbox

// RaceEnabled reports a build with the race detector (see race.go).
const RaceEnabled = false
