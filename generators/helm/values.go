package helm

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"

	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/strvals"

	"github.com/stewardhq/steward/reconcile"
)

// values merges the unit's values files in order, then applies its set
// values, as helm's -f and --set do.
func (g *Generator) values(ctx context.Context, req reconcile.GenerateRequest) (map[string]any, error) {
	base := map[string]any{}
	for _, v := range g.spec.Values {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if path.IsAbs(v) {
			return nil, fmt.Errorf("values file %q: absolute; it is relative to the unit path", v)
		}
		p := path.Join(req.Dir, v)
		if err := reconcile.ResolveInTree(req.Tree, p); err != nil {
			return nil, fmt.Errorf("values file %q: %w", v, err)
		}
		data, err := fs.ReadFile(req.Tree, p)
		if err != nil {
			return nil, fmt.Errorf("values file: %w", err)
		}
		cur, err := chartutil.ReadValues(data)
		if err != nil {
			return nil, &reconcile.SourceError{File: p, Err: err}
		}
		base = mergeMaps(base, cur)
	}
	keys := make([]string, 0, len(g.spec.Set))
	for k := range g.spec.Set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := strvals.ParseInto(k+"="+g.spec.Set[k], base); err != nil {
			return nil, fmt.Errorf("set %s: %w", k, err)
		}
	}
	return base, nil
}

// mergeMaps merges b into a copy of a; maps merge key by key, anything
// else in b replaces what a has (helm's cli/values merge).
func mergeMaps(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if vm, ok := v.(map[string]any); ok {
			if am, ok := out[k].(map[string]any); ok {
				out[k] = mergeMaps(am, vm)
				continue
			}
		}
		out[k] = v
	}
	return out
}
