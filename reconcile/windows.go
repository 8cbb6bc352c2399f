package reconcile

import (
	"fmt"
	"slices"
	"time"

	"github.com/robfig/cron/v3"
)

// Windows decides when units may be applied, from the stack's sync windows:
// deny wins over allow; a unit governed by any allow window syncs only
// inside one; a window with manualSync lets a manual sync through.
type Windows struct {
	list []window
}

type window struct {
	Window
	sched cron.Schedule
	loc   *time.Location
}

var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// CompileWindows parses the schedules and time zones of ws. Errors name the
// window by index.
func CompileWindows(ws []Window) (*Windows, error) {
	out := &Windows{}
	var errs Errors
	for i, w := range ws {
		loc := time.UTC
		if w.TimeZone != "" {
			l, err := time.LoadLocation(w.TimeZone)
			if err != nil {
				errs = append(errs, fmt.Errorf("windows[%d].timeZone: unknown time zone %q", i, w.TimeZone))
				continue
			}
			loc = l
		}
		sched, err := cronParser.Parse(w.Schedule)
		if err != nil {
			errs = append(errs, fmt.Errorf("windows[%d].schedule: %v", i, err))
			continue
		}
		out.list = append(out.list, window{Window: w, sched: sched, loc: loc})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// active reports whether w is open at t: it started within the last
// Duration.
func (w window) active(t time.Time) bool {
	t = t.In(w.loc)
	start := w.sched.Next(t.Add(-w.Duration.D())) // strictly after: closed at start+Duration
	return !start.After(t)
}

func (w window) governs(unit string) bool {
	return len(w.Units) == 0 || slices.Contains(w.Units, unit)
}

// Allowed reports whether unit may be applied at t, and if not, why. manual
// marks a sync a person asked for.
func (ws *Windows) Allowed(unit string, t time.Time, manual bool) (bool, string) {
	if ws == nil {
		return true, ""
	}
	hasAllow, inAllow, allowManual := false, false, false
	for i, w := range ws.list {
		if !w.governs(unit) {
			continue
		}
		switch w.Kind {
		case "deny":
			if w.active(t) && !(manual && w.ManualSync) {
				return false, fmt.Sprintf("deny window %d (%s for %s) is open", i, w.Schedule, w.Duration.D())
			}
		case "allow":
			hasAllow = true
			if w.active(t) {
				inAllow = true
			}
			allowManual = allowManual || w.ManualSync
		}
	}
	if hasAllow && !inAllow && !(manual && allowManual) {
		return false, "outside every allow window"
	}
	return true, ""
}
