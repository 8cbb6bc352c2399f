package checks

import (
	"fmt"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
)

// celValidation is one x-kubernetes-validations rule of a CRD schema, with
// self bound to the value at its node.
type celValidation struct {
	rule    string
	message string
	prg     cel.Program
}

// compileValidations compiles the rules of a schema node that can be run
// offline; the rest are skipped.
func (c *compiler) compileValidations(m map[string]any, at string) ([]celValidation, error) {
	raw, ok := m["x-kubernetes-validations"]
	if !ok || c.celEnv == nil {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok {
		return nil, &SchemaError{at + ".x-kubernetes-validations", "not a list"}
	}
	var out []celValidation
	for i, it := range list {
		r, _ := it.(map[string]any)
		rule, _ := r["rule"].(string)
		if rule == "" {
			return nil, &SchemaError{fmt.Sprintf("%s.x-kubernetes-validations[%d].rule", at, i), "no rule"}
		}
		ast, iss := c.celEnv.Compile(rule)
		if iss.Err() != nil {
			continue // oldSelf or a Kubernetes-only function: not checkable offline
		}
		if t := ast.OutputType(); !t.IsExactType(types.BoolType) && !t.IsExactType(types.DynType) {
			continue
		}
		prg, err := c.celEnv.Program(ast, cel.CostLimit(c.costLimit))
		if err != nil {
			continue
		}
		msg, _ := r["message"].(string)
		out = append(out, celValidation{rule: rule, message: msg, prg: prg})
	}
	return out, nil
}

// validateCEL runs the rules of a node. Only a definite false fails: an
// evaluation error may come from typing the API server does and a dynamic
// self does not (date-time strings are timestamps there), so it is not
// reported.
func (v *validator) validateCEL(s *schema, x any) {
	for _, r := range s.validations {
		out, _, err := r.prg.Eval(map[string]any{"self": x})
		if err != nil {
			continue
		}
		if b, ok := out.Value().(bool); ok && !b {
			if r.message != "" {
				v.fail("%s", r.message)
			} else {
				v.fail("failed rule: %s", r.rule)
			}
		}
	}
}
