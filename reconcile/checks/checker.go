package checks

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/google/cel-go/cel"
	"golang.org/x/sync/errgroup"

	"github.com/stewardhq/steward/reconcile"
)

// Options configure a Checker.
type Options struct {
	// ValidateMachine validates an object of a machine kind (apiVersion
	// machine.steward.dev/v1); its error becomes the failure message (each
	// error of an errors.Join its own failure). cmd wires it from
	// targets/machine. nil reports machine kinds as unchecked.
	ValidateMachine func(*reconcile.Object) error
	// CostLimit bounds the CEL cost of one rule on one object (the same
	// units as the Kubernetes per-expression limit).
	CostLimit uint64
	// Concurrency is how many objects are checked at once.
	Concurrency int
}

// DefaultOptions returns the options New uses for zero fields: a CEL cost
// limit of 1,000,000 per evaluation and one worker per CPU.
func DefaultOptions() Options {
	return Options{CostLimit: 1_000_000, Concurrency: runtime.GOMAXPROCS(0)}
}

// withDefaults returns o with every zero field set from DefaultOptions.
func (o Options) withDefaults() Options {
	def := DefaultOptions()
	if o.CostLimit == 0 {
		o.CostLimit = def.CostLimit
	}
	if o.Concurrency <= 0 {
		o.Concurrency = def.Concurrency
	}
	return o
}

// Checker runs the checks stage. It is immutable after New and safe for
// concurrent use.
type Checker struct {
	opts    Options
	rules   []rule
	selfEnv *cel.Env // for x-kubernetes-validations of CRDs in a run
}

// UnitObjects is one unit's generated objects.
type UnitObjects struct {
	Unit    string
	Objects []*reconcile.Object
	// Machine says the unit's target applies machine kinds (machines,
	// local): every object must then be one, whatever its apiVersion.
	Machine bool
}

// New compiles the stack file's checks once. Every bad rule is reported,
// each as a *RuleError naming checks[i] and the compile message.
func New(rules []reconcile.Check, opts Options) (*Checker, error) {
	opts = opts.withDefaults()
	if err := builtins.init(); err != nil {
		return nil, err
	}
	compiled, err := compileRules(rules, opts.CostLimit)
	if err != nil {
		return nil, err
	}
	selfEnv, err := selfEnv()
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	return &Checker{opts: opts, rules: compiled, selfEnv: selfEnv}, nil
}

// result is what checking one object found.
type result struct {
	failures  []Failure
	unchecked *Unchecked
}

// unitResult is what checking one unit's objects found.
type unitResult struct {
	failures  []Failure
	unchecked []Unchecked
}

// Check validates every object of every unit and runs the rules on it. The
// report is sorted; the error is only ever the context's.
func (c *Checker) Check(ctx context.Context, units []UnitObjects) (*Report, error) {
	crds := newCRDIndex(units, c.selfEnv, c.opts.CostLimit)
	res, err := c.checkUnits(ctx, crds, units, nil)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	for i, r := range res {
		rep.Objects += len(units[i].Objects)
		rep.add(r)
	}
	rep.sort()
	return rep, nil
}

// checkUnits checks the objects of units[i] against crds for every i with
// todo[i] (every unit when todo is nil); the others' results are left
// empty. The error is only ever the context's.
func (c *Checker) checkUnits(ctx context.Context, crds *crdIndex, units []UnitObjects, todo []bool) ([]unitResult, error) {
	type job struct {
		unit int
		obj  *reconcile.Object
	}
	var jobs []job
	for i, u := range units {
		if todo != nil && !todo[i] {
			continue
		}
		for _, o := range u.Objects {
			jobs = append(jobs, job{i, o})
		}
	}
	results := make([]result, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.opts.Concurrency)
	// Objects are handed out in batches: one goroutine per object costs
	// more than validating a small one.
	const batch = 16
	for start := 0; start < len(jobs); start += batch {
		end := min(start+batch, len(jobs))
		g.Go(func() error {
			for i := start; i < end; i++ {
				if err := gctx.Err(); err != nil {
					return err
				}
				u := &units[jobs[i].unit]
				results[i] = c.checkObject(gctx, crds, u.Unit, jobs[i].obj, u.Machine)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]unitResult, len(units))
	for i, r := range results {
		u := &out[jobs[i].unit]
		u.failures = append(u.failures, r.failures...)
		if r.unchecked != nil {
			u.unchecked = append(u.unchecked, *r.unchecked)
		}
	}
	return out, nil
}

func (c *Checker) checkObject(ctx context.Context, crds *crdIndex, unit string, o *reconcile.Object, machine bool) result {
	var res result
	id := reconcile.IDOf(o)
	fail := func(rule, field, msg string) {
		res.failures = append(res.failures, Failure{Unit: unit, Object: id, Rule: rule, Field: field, Message: msg})
	}
	// An object of a machine unit, or of the machine API group at any
	// version, is the machine validator's to judge: an unknown apiVersion
	// or kind is refused here, not at plan.
	if machine || reconcile.IsMachine(o) || groupOf(o.GetAPIVersion()) == machineGroup {
		c.checkMachine(o, fail, func(reason string) {
			res.unchecked = &Unchecked{Unit: unit, Object: id, Reason: reason}
		})
	} else if reason := checkSchema(crds, o, fail); reason != "" {
		res.unchecked = &Unchecked{Unit: unit, Object: id, Reason: reason}
	}
	for i := range c.rules {
		r := &c.rules[i]
		if !r.match.matches(unit, o) {
			continue
		}
		if msg := r.eval(ctx, o); msg != "" {
			fail(r.name, "", msg)
		}
	}
	return res
}

func (c *Checker) checkMachine(o *reconcile.Object, fail func(rule, field, msg string), unchecked func(string)) {
	if c.opts.ValidateMachine == nil {
		unchecked("no validator for machine kinds")
		return
	}
	err := c.opts.ValidateMachine(o)
	if err == nil {
		return
	}
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	for _, e := range errs {
		var fe FieldMessager
		if errors.As(e, &fe) {
			field, msg := fe.FieldMessage()
			fail(RuleMachine, field, msg)
			continue
		}
		fail(RuleMachine, "", e.Error())
	}
}

// machineGroup is the API group of the machine kinds.
const machineGroup = "machine.steward.dev"

// FieldMessager is implemented by validation errors that can give the field
// they concern apart from the message (without the object, which a Failure
// names already). Options.ValidateMachine errors may implement it.
type FieldMessager interface {
	FieldMessage() (field, msg string)
}

// checkSchema validates a Kubernetes object against its built-in or CRD
// schema. It returns why the object is unchecked, or "".
func checkSchema(crds *crdIndex, o *reconcile.Object, fail func(rule, field, msg string)) string {
	av, kind := o.GetAPIVersion(), o.GetKind()
	meta, err := builtins.definition(objectMetaDef)
	if err != nil {
		fail(RuleSchema, "", err.Error())
		return ""
	}
	v := validator{structural: true, meta: meta, redact: groupOf(av) == "" && kind == "Secret"}
	if cv, crd, found := crds.lookup(av, kind); found {
		switch {
		case cv == nil:
			fail(RuleSchema, "apiVersion", fmt.Sprintf("version %s of %s is not defined by CustomResourceDefinition %s", versionOf(av), kind, crd))
			return ""
		case !cv.served:
			fail(RuleSchema, "apiVersion", fmt.Sprintf("version %s of %s is not served by CustomResourceDefinition %s", versionOf(av), kind, crd))
			return ""
		case cv.err != nil:
			return fmt.Sprintf("no schema: CustomResourceDefinition %s: %v", crd, cv.err)
		}
		v.validate(cv.schema, o.Object)
	} else {
		s, known, err := builtins.lookup(av, kind)
		switch {
		case err != nil:
			fail(RuleSchema, "", err.Error())
			return ""
		case s == nil && known:
			fail(RuleSchema, "", unknownKind(av, kind))
			return ""
		case s == nil:
			return "no schema: CRD not in this revision"
		}
		v.validate(s, o.Object)
	}
	for _, e := range v.result() {
		fail(RuleSchema, e.Field, e.Msg)
	}
	return ""
}

// removedGroups are API groups Kubernetes served once and no longer does:
// their kinds are refused rather than taken for custom ones.
var removedGroups = map[string]bool{
	"extensions":               true,
	"settings.k8s.io":          true,
	"auditregistration.k8s.io": true,
}

// unknownKind explains an apiVersion/kind of a built-in group that
// Kubernetes does not serve, naming where the kind is served instead: in
// the same group if it is, else in any group.
func unknownKind(apiVersion, kind string) string {
	group := groupOf(apiVersion)
	var sameGroup, anyGroup []string
	for k := range builtins.kinds {
		av, kk, _ := strings.Cut(k, " ")
		if kk != kind {
			continue
		}
		anyGroup = append(anyGroup, av)
		if groupOf(av) == group {
			sameGroup = append(sameGroup, av)
		}
	}
	served := sameGroup
	if len(served) == 0 {
		served = anyGroup
	}
	slices.Sort(served)
	msg := fmt.Sprintf("%s %s is not a kind of Kubernetes %s", apiVersion, kind, builtins.version)
	if len(served) > 0 {
		msg += " (served as " + strings.Join(served, ", ") + ")"
	}
	return msg
}

func versionOf(apiVersion string) string {
	if _, v, ok := strings.Cut(apiVersion, "/"); ok {
		return v
	}
	return apiVersion
}
