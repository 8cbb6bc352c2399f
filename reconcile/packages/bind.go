package packages

import (
	"fmt"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

// Params returns the parameters unit u of stack gives package p: its with:
// with the schema's defaults. Each violation of the schema is a
// *reconcile.FieldError naming the stack file's line (the value's, else
// the nearest enclosing one written), the field (units[1].with.replicas),
// the rule broken and its schema path.
func Params(stack *reconcile.Stack, u *reconcile.Unit, p *Package) (map[string]any, error) {
	params, vs, err := p.Schema.Apply(u.With)
	at := fmt.Sprintf("units[%d].with", stack.Index(u.Name))
	if err != nil {
		return nil, &reconcile.FieldError{File: stack.File, Pos: stack.Pos(at), Field: at, Msg: err.Error()}
	}
	if len(vs) == 0 {
		return params, nil
	}
	var errs reconcile.Errors
	for _, v := range vs {
		field := at
		for _, tok := range v.Instance {
			field += "." + tok
		}
		errs = append(errs, &reconcile.FieldError{File: stack.File, Pos: nearestPos(stack, field, at, u), Field: field,
			Msg: fmt.Sprintf("%s (package %s, schema %s)", v.Msg, p.Manifest.Name, v.Keyword)})
	}
	return nil, errs
}

// nearestPos is where field was written, else the closest enclosing field
// that was: a missing parameter is reported at with:, or at package: when
// the unit has no with.
func nearestPos(stack *reconcile.Stack, field, with string, u *reconcile.Unit) reconcile.Pos {
	for f := field; ; {
		if pos := stack.Pos(f); pos.Line > 0 {
			return pos
		}
		i := strings.LastIndexByte(f, '.')
		if f == with || i < 0 {
			break
		}
		f = f[:i]
	}
	return stack.Pos(strings.TrimSuffix(with, ".with") + ".package")
}
