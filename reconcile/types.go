package reconcile

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written as a Go duration string ("90s", "5m").
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Or returns d, or def when d is zero.
func (d Duration) Or(def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. 30s, 5m, 1h)", b)
	}
	if v < 0 {
		return fmt.Errorf("duration %q is negative", b)
	}
	*d = Duration(v)
	return nil
}

// IntOrPercent is a count ("3") or a share of a total ("25%").
type IntOrPercent struct {
	N       int
	Percent bool
}

// Of resolves the value against total; a percentage rounds up so that a
// non-zero share is never zero.
func (v IntOrPercent) Of(total int) int {
	if !v.Percent {
		return v.N
	}
	return int(math.Ceil(float64(total) * float64(v.N) / 100))
}

// IsZero reports whether v was not set.
func (v IntOrPercent) IsZero() bool { return v.N == 0 && !v.Percent }

// MarshalText implements encoding.TextMarshaler.
func (v IntOrPercent) MarshalText() ([]byte, error) {
	if v.Percent {
		return []byte(strconv.Itoa(v.N) + "%"), nil
	}
	return []byte(strconv.Itoa(v.N)), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (v *IntOrPercent) UnmarshalText(b []byte) error {
	s := string(b)
	num, pct := strings.CutSuffix(s, "%")
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || (pct && n > 100) {
		return fmt.Errorf("invalid count %q (want N or N%%)", s)
	}
	*v = IntOrPercent{N: n, Percent: pct}
	return nil
}
