package checks

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"

	"github.com/stewardhq/steward/reconcile"
)

// RuleError is a check of the stack file that cannot be used: a bad glob or
// a CEL expression that does not compile. Field is the stack-file path
// (checks[2].cel), so callers can find its line with reconcile.Stack.Pos.
type RuleError struct {
	Field string
	Rule  string
	Err   error
}

func (e *RuleError) Error() string {
	if e.Rule != "" {
		return fmt.Sprintf("%s (rule %s): %v", e.Field, e.Rule, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Field, e.Err)
}

func (e *RuleError) Unwrap() error { return e.Err }

// Reserved rule names: the built-in checks report under them.
const (
	RuleSchema  = "schema"
	RuleMachine = "machine"
)

// rule is one compiled check.
type rule struct {
	name    string
	message string
	match   matcher
	prg     cel.Program
}

// matcher selects objects by path.Match globs; an empty pattern matches all.
type matcher struct {
	apiVersion, kind, name, namespace string
	units                             map[string]bool
}

// newMatcher validates every pattern of m.
func newMatcher(m reconcile.Match, at string) (matcher, error) {
	out := matcher{apiVersion: m.APIVersion, kind: m.Kind, name: m.Name, namespace: m.Namespace}
	for _, p := range []struct{ field, pattern string }{
		{"apiVersion", m.APIVersion}, {"kind", m.Kind}, {"name", m.Name}, {"namespace", m.Namespace},
	} {
		if _, err := path.Match(p.pattern, ""); err != nil {
			return matcher{}, &RuleError{Field: at + ".match." + p.field, Err: fmt.Errorf("bad glob %q: %w", p.pattern, err)}
		}
	}
	if len(m.Units) > 0 {
		out.units = make(map[string]bool, len(m.Units))
		for _, u := range m.Units {
			out.units[u] = true
		}
	}
	return out, nil
}

func glob(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, s) // patterns were validated by newMatcher
	return ok
}

func (m *matcher) matches(unit string, o *reconcile.Object) bool {
	if m.units != nil && !m.units[unit] {
		return false
	}
	return glob(m.apiVersion, o.GetAPIVersion()) && glob(m.kind, o.GetKind()) &&
		glob(m.name, o.GetName()) && glob(m.namespace, o.GetNamespace())
}

// compileRules compiles every check; all bad ones are reported together.
func compileRules(checks []reconcile.Check, costLimit uint64) ([]rule, error) {
	if len(checks) == 0 {
		return nil, nil
	}
	env, err := ruleEnv()
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	var errs []error
	rules := make([]rule, 0, len(checks))
	for i, c := range checks {
		at := fmt.Sprintf("checks[%d]", i)
		r, err := compileRule(env, c, at, costLimit)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rules = append(rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rules, nil
}

func compileRule(env *cel.Env, c reconcile.Check, at string, costLimit uint64) (rule, error) {
	switch c.Name {
	case "":
		return rule{}, &RuleError{Field: at + ".name", Err: errors.New("check has no name")}
	case RuleSchema, RuleMachine:
		return rule{}, &RuleError{Field: at + ".name", Rule: c.Name, Err: fmt.Errorf("%q is reserved for the built-in checks", c.Name)}
	}
	m, err := newMatcher(c.Match, at)
	if err != nil {
		err.(*RuleError).Rule = c.Name
		return rule{}, err
	}
	ast, iss := env.Compile(c.CEL)
	if iss.Err() != nil {
		return rule{}, &RuleError{Field: at + ".cel", Rule: c.Name, Err: fmt.Errorf("compile: %w", iss.Err())}
	}
	if t := ast.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
		return rule{}, &RuleError{Field: at + ".cel", Rule: c.Name, Err: fmt.Errorf("expression returns %s, not bool", t)}
	}
	prg, err := env.Program(ast,
		cel.CostLimit(costLimit),
		cel.InterruptCheckFrequency(100),
	)
	if err != nil {
		return rule{}, &RuleError{Field: at + ".cel", Rule: c.Name, Err: fmt.Errorf("program: %w", err)}
	}
	return rule{name: c.Name, message: c.Message, match: m, prg: prg}, nil
}

// eval runs the rule on o; it returns "" when the object passes.
func (r *rule) eval(ctx context.Context, o *reconcile.Object) string {
	out, _, err := r.prg.ContextEval(ctx, map[string]any{"object": o.Object})
	if err != nil {
		return "evaluation error: " + err.Error()
	}
	b, ok := out.Value().(bool)
	switch {
	case !ok:
		return fmt.Sprintf("expression returned %s, not bool", out.Type().TypeName())
	case b:
		return ""
	case r.message != "":
		return r.message
	default:
		return "expression returned false"
	}
}
