package status

import (
	"embed"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

//go:embed templates/page.html.tmpl templates/style.css
var templates embed.FS

var pageTemplate = template.Must(template.New("page.html.tmpl").ParseFS(templates, "templates/page.html.tmpl"))

// style is inlined into the page: one request shows everything.
var style = func() template.CSS {
	b, err := templates.ReadFile("templates/style.css")
	if err != nil {
		panic(err)
	}
	return template.CSS(b)
}()

// pageView is everything the template shows, computed in Go so that the
// template stays a layout.
type pageView struct {
	Style     template.CSS
	Refresh   int
	Expand    bool // every <details> open
	Now       string
	Ready     bool
	Source    string
	Revision  string
	RevShort  string
	Fetched   timeView
	SourceErr string
	Counts    []stateCount
	Units     []unitView
	Nav       navView
	Images    *ImagesStatus
}

type stateCount struct {
	State string
	N     int
}

type timeView struct {
	Rel string // "3m ago", "in 40s"
	Abs string // RFC 3339, shown on hover
}

type actionCount struct {
	Action string
	N      int
}

type changeView struct {
	Object  string
	Host    string
	Action  string
	Message string
	Diff    []diffLine
}

// diffLine is one line of a unified diff, classed for colouring: add, del,
// hunk, head or ctx.
type diffLine struct {
	Class string
	Text  string
}

type unitView struct {
	Name        string
	Target      string
	TargetKind  string
	Owner       string
	Revision    string
	RevShort    string
	Attempted   string // short attempted revision when it differs from the applied one
	AttemptFull string
	AttemptVerb string // "applying" while progressing, else "tried"
	State       string
	Message     string
	Release     string // a progressive unit's release line
	DependsOn   string
	Drift       int
	Outputs     map[string]string // sensitive ones masked by the reconciler
	Error       string
	LastAttempt timeView
	LastSuccess timeView
	NextRun     timeView
	HasResult   bool
	ResultRev   string
	Duration    string
	Actions     []actionCount
	Changed     []changeView // everything but unchanged
	Unchanged   int
	Group       string // set on the first unit of a group: its heading
}

var actionOrder = []reconcile.Action{
	reconcile.Created, reconcile.Configured, reconcile.Deleted,
	reconcile.Failed, reconcile.Skipped, reconcile.Unchanged,
}

func newPageView(s Snapshot, now time.Time, refresh int) pageView {
	v := pageView{
		Style:     style,
		Refresh:   refresh,
		Now:       now.UTC().Format(time.RFC3339),
		Ready:     s.Ready,
		Source:    s.Source,
		Revision:  s.Revision,
		RevShort:  shortRev(s.Revision),
		Fetched:   relTime(s.FetchedAt, now),
		SourceErr: s.SourceError,
		Images:    s.Images,
	}
	byState := map[string]int{}
	for _, u := range s.Units {
		byState[u.State]++
		v.Units = append(v.Units, newUnitView(u, now))
	}
	for _, st := range States {
		if byState[st] > 0 {
			v.Counts = append(v.Counts, stateCount{st, byState[st]})
		}
	}
	return v
}

func newUnitView(u UnitStatus, now time.Time) unitView {
	uv := unitView{
		Name:        u.Name,
		Target:      u.Target,
		TargetKind:  u.TargetKind,
		Owner:       u.Owner,
		Revision:    u.Revision,
		RevShort:    shortRev(u.Revision),
		State:       u.State,
		Message:     u.Message,
		Release:     u.Release,
		DependsOn:   strings.Join(u.DependsOn, ", "),
		Drift:       u.Drift,
		Outputs:     u.Outputs,
		Error:       u.LastError,
		LastAttempt: relTime(u.LastAttempt, now),
		LastSuccess: relTime(u.LastSuccess, now),
		NextRun:     relTime(u.NextRun, now),
	}
	if uv.State == "" {
		uv.State = StatePending
	}
	if u.LastAttemptedRevision != "" && u.LastAttemptedRevision != u.Revision {
		uv.Attempted = shortRev(u.LastAttemptedRevision)
		uv.AttemptFull = u.LastAttemptedRevision
		uv.AttemptVerb = "tried"
		if u.State == StateProgressing {
			uv.AttemptVerb = "applying"
		}
	}
	if cs := u.LastResult; cs != nil {
		uv.HasResult = true
		uv.ResultRev = shortRev(cs.Revision)
		if cs.Duration > 0 {
			uv.Duration = cs.Duration.Round(time.Millisecond).String()
		}
		for _, a := range actionOrder {
			if n := cs.Count(a); n > 0 {
				uv.Actions = append(uv.Actions, actionCount{string(a), n})
			}
		}
		for _, c := range cs.Changes {
			if c.Action == reconcile.Unchanged {
				uv.Unchanged++
				continue
			}
			uv.Changed = append(uv.Changed, changeView{
				Object: c.Object.String(), Host: c.Host, Action: string(c.Action),
				Message: c.Message, Diff: diffLines(c.Diff),
			})
		}
	}
	return uv
}

func diffLines(diff string) []diffLine {
	if diff == "" {
		return nil
	}
	var out []diffLine
	for _, l := range strings.Split(strings.TrimSuffix(diff, "\n"), "\n") {
		class := "ctx"
		switch {
		case strings.HasPrefix(l, "+++"), strings.HasPrefix(l, "---"):
			class = "head"
		case strings.HasPrefix(l, "@@"):
			class = "hunk"
		case strings.HasPrefix(l, "+"):
			class = "add"
		case strings.HasPrefix(l, "-"):
			class = "del"
		}
		out = append(out, diffLine{class, l})
	}
	return out
}

// shortRev shortens a commit SHA the way forges show it (7 digits).
func shortRev(rev string) string { return reconcile.ShortRevision(rev, reconcile.CompactRevisionWidth) }

// relTime renders t relative to now ("3m ago", "in 40s"); zero is "—".
func relTime(t, now time.Time) timeView {
	if t.IsZero() {
		return timeView{Rel: "—"}
	}
	d := now.Sub(t)
	abs := t.UTC().Format(time.RFC3339)
	switch {
	case d < -time.Second:
		return timeView{Rel: "in " + human(-d), Abs: abs}
	case d < time.Second:
		return timeView{Rel: "now", Abs: abs}
	default:
		return timeView{Rel: human(d) + " ago", Abs: abs}
	}
}

func human(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		h := int(d.Hours())
		if m := int(d.Minutes()) % 60; m != 0 && h < 10 {
			return fmt.Sprintf("%dh%dm", h, m)
		}
		return fmt.Sprintf("%dh", h)
	default:
		return fmt.Sprintf("%dd", int(d.Hours()/24))
	}
}
