package helm

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

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
	// A package's parameters are its chart's values, over the files and
	// under set.
	if len(req.Params) > 0 {
		base = mergeMaps(base, deepCopyMap(req.Params))
	}
	keys := make([]string, 0, len(g.spec.Set))
	for k := range g.spec.Set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := setValue(base, k, g.spec.Set[k]); err != nil {
			return nil, fmt.Errorf("set %s: %w", k, err)
		}
	}
	// The unit's inputs are .Values.inputs.NAME, over any value there.
	if len(req.Inputs) > 0 {
		in, _ := base["inputs"].(map[string]any)
		if in == nil {
			in = map[string]any{}
		}
		for k, v := range req.Inputs {
			in[k] = v.Value
		}
		base["inputs"] = in
	}
	return base, nil
}

// setValue sets the value at key, a path in helm's --set syntax (a.b[0].c,
// with \. for a literal dot). The value is taken as the stack file has it,
// with its YAML type: a string is never split on commas nor re-typed, as
// helm's --set-json does it.
func setValue(base map[string]any, key string, v any) error {
	if key == "" || strings.ContainsAny(key, ",=") {
		return fmt.Errorf("the path may not be empty or contain ',' or '='")
	}
	js, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return strvals.ParseJSON(key+"="+string(js), base)
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

// deepCopyMap copies m so that rendering never writes into the parameters
// (they are shared with the generation cache key).
func deepCopyMap(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}
