//go:build race

package sandbox

// RaceEnabled reports a build with the race detector, whose shadow memory
// does not fit under a sandbox's RLIMIT_DATA: isolated generation fails in
// such a build (tests skip it).
const RaceEnabled = true
