package checks

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

// Report is the result of one check run: data from which the CLI output,
// status and metrics are derived. Both lists are sorted by unit, object,
// rule, field and message, so equal input gives an equal report.
type Report struct {
	// Objects is the number of objects checked.
	Objects int
	// Failures are the problems found; any failure refuses the revision.
	Failures []Failure
	// Unchecked are objects no schema covers (a custom kind whose CRD is
	// not in the run, machine kinds without a validator). They do not fail
	// the revision.
	Unchecked []Unchecked
}

// Failure is one problem: the unit and object it is in, the rule that found
// it (RuleSchema, RuleMachine or the name of a check), the field when known,
// and a message.
type Failure struct {
	Unit    string
	Object  reconcile.ObjectID
	Rule    string
	Field   string
	Message string
}

// String renders the failure as
// "unit app: apps/Deployment/ns/web: rule limits: spec.replicas: message".
func (f Failure) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "unit %s: %s: rule %s: ", f.Unit, f.Object, f.Rule)
	if f.Field != "" {
		b.WriteString(f.Field)
		b.WriteString(": ")
	}
	b.WriteString(f.Message)
	return b.String()
}

// Unchecked is an object no schema validated, and why.
type Unchecked struct {
	Unit   string
	Object reconcile.ObjectID
	Reason string
}

// String renders "unit app: example.com/Widget/w: no schema: ...".
func (u Unchecked) String() string {
	return fmt.Sprintf("unit %s: %s: %s", u.Unit, u.Object, u.Reason)
}

// OK reports whether the revision passed: no failures.
func (r *Report) OK() bool { return len(r.Failures) == 0 }

// Err returns nil when the report has no failures, else a *FailedError
// carrying them.
func (r *Report) Err() error {
	if r.OK() {
		return nil
	}
	return &FailedError{Failures: r.Failures}
}

// FailedError is returned by Report.Err: a revision that failed its checks.
type FailedError struct {
	Failures []Failure
}

func (e *FailedError) Error() string {
	msg := fmt.Sprintf("checks failed: %s", e.Failures[0])
	if n := len(e.Failures) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more)", n)
	}
	return msg
}

// add appends what checking one unit found.
func (r *Report) add(u unitResult) {
	r.Failures = append(r.Failures, u.failures...)
	r.Unchecked = append(r.Unchecked, u.unchecked...)
}

func (r *Report) sort() {
	slices.SortFunc(r.Failures, func(a, b Failure) int {
		return cmp.Or(
			cmp.Compare(a.Unit, b.Unit),
			a.Object.Compare(b.Object),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Field, b.Field),
			cmp.Compare(a.Message, b.Message),
		)
	})
	slices.SortFunc(r.Unchecked, func(a, b Unchecked) int {
		return cmp.Or(cmp.Compare(a.Unit, b.Unit), a.Object.Compare(b.Object), cmp.Compare(a.Reason, b.Reason))
	})
}
