package checks

import (
	"fmt"
	"maps"

	"github.com/google/cel-go/cel"

	"github.com/stewardhq/steward/reconcile"
)

const crdAPIVersion = "apiextensions.k8s.io/v1"

// crdVersion is one version of a custom kind defined in the run.
type crdVersion struct {
	crd    string  // the CRD's name, for messages
	served bool    // spec.versions[].served
	schema *schema // nil when the CRD's schema does not compile
	err    error   // why schema is nil
}

// crdIndex maps "apiVersion Kind" of every custom kind defined by a CRD in
// the run to its schema, and group/Kind to the CRD for kinds whose version
// it does not define.
type crdIndex struct {
	versions map[string]*crdVersion
	kinds    map[string]string // "group Kind" -> CRD name
	// units are the indices of the units holding a CRD, in order: what
	// any unit's schema check may depend on besides the unit itself.
	units []int
}

func isCRD(o *reconcile.Object) bool {
	return o.GetAPIVersion() == crdAPIVersion && o.GetKind() == "CustomResourceDefinition"
}

// newCRDIndex compiles the schemas of every CRD among units. When two CRDs
// define the same kind, the first (in unit, then object order) wins.
func newCRDIndex(units []UnitObjects, env *cel.Env, costLimit uint64) *crdIndex {
	idx := &crdIndex{versions: map[string]*crdVersion{}, kinds: map[string]string{}}
	for i, u := range units {
		for _, o := range u.Objects {
			if isCRD(o) {
				idx.add(o, env, costLimit)
				if n := len(idx.units); n == 0 || idx.units[n-1] != i {
					idx.units = append(idx.units, i)
				}
			}
		}
	}
	return idx
}

func (idx *crdIndex) add(o *reconcile.Object, env *cel.Env, costLimit uint64) {
	spec, _ := o.Object["spec"].(map[string]any)
	group, _ := spec["group"].(string)
	names, _ := spec["names"].(map[string]any)
	kind, _ := names["kind"].(string)
	if group == "" || kind == "" {
		return // the CRD's own schema check reports it
	}
	gk := group + " " + kind
	if _, dup := idx.kinds[gk]; dup {
		return
	}
	idx.kinds[gk] = o.GetName()
	versions, _ := spec["versions"].([]any)
	for i, v := range versions {
		vm, _ := v.(map[string]any)
		name, _ := vm["name"].(string)
		if name == "" {
			continue
		}
		served, _ := vm["served"].(bool)
		cv := &crdVersion{crd: o.GetName(), served: served}
		sch, _ := vm["schema"].(map[string]any)
		at := fmt.Sprintf("spec.versions[%d].schema.openAPIV3Schema", i)
		if raw, ok := sch["openAPIV3Schema"]; ok {
			cv.schema, cv.err = compileCRDSchema(raw, at, &compiler{strict: true, celEnv: env, costLimit: costLimit})
		} else {
			cv.err = &SchemaError{Path: at, Msg: "no schema"}
		}
		idx.versions[group+"/"+name+" "+kind] = cv
	}
}

// compileCRDSchema compiles a structural schema and makes its root an
// object whose apiVersion, kind and metadata are implied, as the API server
// does: metadata is checked as ObjectMeta whatever the CRD says about it.
func compileCRDSchema(raw any, at string, c *compiler) (*schema, error) {
	s, err := c.compile(raw, at)
	if err != nil {
		return nil, err
	}
	root := *s
	root.embedded = true
	if root.props != nil {
		root.props = maps.Clone(root.props)
		delete(root.props, "metadata")
	}
	return &root, nil
}

// lookup finds the schema of a custom kind. found reports whether a CRD in
// the run defines the kind's group and kind at all.
func (idx *crdIndex) lookup(apiVersion, kind string) (v *crdVersion, crd string, found bool) {
	if v, ok := idx.versions[apiVersion+" "+kind]; ok {
		return v, v.crd, true
	}
	crd, found = idx.kinds[groupOf(apiVersion)+" "+kind]
	return nil, crd, found
}
