package checks

import (
	"sync"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/ext"
)

// One CEL environment serves the stack's rules and the
// x-kubernetes-validations of CRDs: one extension list (cel-go's string,
// list, set, math and encoder extensions, optionals, cross-type numeric
// comparisons), built once per process. Rules see the object as object; CRD
// validations see the value at their node as self. The Kubernetes-only
// functions (quantity, url, format, ...) and oldSelf are not declared: CRD
// rules using them do not compile and are skipped.
var celEnvs struct {
	once       sync.Once
	rule, self *cel.Env
	err        error
}

func envs() (rule, self *cel.Env, err error) {
	celEnvs.once.Do(func() {
		base, err := cel.NewEnv(
			cel.OptionalTypes(),
			cel.CrossTypeNumericComparisons(true),
			ext.Strings(),
			ext.Lists(ext.ListsMaxRangeSize(100_000)),
			ext.Sets(),
			ext.Math(),
			ext.Encoders(),
		)
		if err != nil {
			celEnvs.err = err
			return
		}
		if celEnvs.rule, err = base.Extend(cel.Variable("object", cel.DynType)); err != nil {
			celEnvs.err = err
			return
		}
		celEnvs.self, celEnvs.err = base.Extend(cel.Variable("self", cel.DynType))
	})
	return celEnvs.rule, celEnvs.self, celEnvs.err
}

// ruleEnv is the environment of the stack's checks: object bound.
func ruleEnv() (*cel.Env, error) {
	r, _, err := envs()
	return r, err
}

// selfEnv is the environment of x-kubernetes-validations: self bound.
func selfEnv() (*cel.Env, error) {
	_, s, err := envs()
	return s, err
}
