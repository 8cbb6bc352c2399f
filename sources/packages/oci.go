package packages

import (
	"context"
	"errors"
	"fmt"

	"github.com/stewardhq/steward/reconcile"
)

var errNoOCI = errors.New("OCI packages are not resolved by this steward yet")

func (r *Resolver) resolveOCI(_ context.Context, _ *reconcile.Stack, _ *Lock, units []*reconcile.Unit, idx []int, _ []*reconcile.ResolvedPackage, errs []error) {
	for _, i := range idx {
		errs[i] = fmt.Errorf("package %s: %w", units[i].Package, errNoOCI)
	}
}

func (r *Resolver) freshOCI(_ context.Context, _ *reconcile.Stack, u *reconcile.Unit) (*LockEntry, error) {
	return nil, fmt.Errorf("package %s: %w", u.Package, errNoOCI)
}
