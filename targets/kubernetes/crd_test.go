package kubernetes

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// Units that each bring a CRD and its custom resources, applied at once:
// the API server's discovery is busy with every new group while each unit
// applies its custom resources right after its CRD is Established. Each
// must wait until discovery serves its kind, not fail with "no matches for
// kind". Run it with -count=20 (and -race) to see the race it guards.
func TestCRDAndCustomResourcesParallel(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	const units = 6
	var wg sync.WaitGroup
	errs := make([]error, units)
	for i := range units {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("%s-%d", ns, i)
			manifests := strings.ReplaceAll(crdManifests, "GROUP", name+".example.com")
			manifests = strings.ReplaceAll(manifests, "NS-w", name+"-w")
			objs, err := reconcile.DecodeObjects([]byte(manifests), "test.yaml")
			if err != nil {
				errs[i] = err
				return
			}
			plan, err := tg.Plan(t.Context(), reconcile.ApplyRequest{Unit: unit("crd-" + name), Revision: "rev", Objects: objs})
			if err != nil {
				errs[i] = err
				return
			}
			_, errs[i] = tg.Apply(t.Context(), plan)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("unit %d: %v", i, err)
		}
	}
}
