package policy

import (
	"fmt"
	"strings"
)

// Channel is a risk level, after Juju's channels: how far from a stable
// release a version may be.
type Channel int

// The channels, least risk first.
const (
	Stable Channel = iota
	Candidate
	Beta
	Edge
)

var channelNames = [...]string{"stable", "candidate", "beta", "edge"}

func (c Channel) String() string {
	if c < Stable || c > Edge {
		return fmt.Sprintf("Channel(%d)", int(c))
	}
	return channelNames[c]
}

// ParseChannel reads a channel name.
func ParseChannel(s string) (Channel, error) {
	for i, n := range channelNames {
		if s == n {
			return Channel(i), nil
		}
	}
	return 0, fmt.Errorf("unknown channel %q (want one of %s)", s, strings.Join(channelNames[:], ", "))
}

// RiskOf is the least channel that admits a version with the given
// pre-release part (without the leading '-'): none is stable, rc candidate,
// beta beta, anything else (alpha, dev, a build number) edge. The first
// dot-separated identifier decides, case-insensitively and without trailing
// digits, so "rc.1", "RC1" and "rc" are all candidate.
func RiskOf(prerelease string) Channel {
	if prerelease == "" {
		return Stable
	}
	id, _, _ := strings.Cut(prerelease, ".")
	id = strings.TrimRight(strings.ToLower(id), "0123456789")
	switch id {
	case "rc":
		return Candidate
	case "beta":
		return Beta
	}
	return Edge
}

// Admits reports whether a version with the given pre-release part may be
// chosen on channel c.
func (c Channel) Admits(prerelease string) bool { return RiskOf(prerelease) <= c }
