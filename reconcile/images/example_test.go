package images_test

import (
	"fmt"

	"github.com/stewardhq/steward/reconcile/images"
)

func ExampleRewrite() {
	file := []byte(`spec:
  containers:
    - name: app   # the app
      image: 'registry.example.com/team/app:1.2.0' # {"$imagepolicy": "flux-system:app"}
`)
	chosen := images.Ref{Name: "registry.example.com/team/app", Tag: "1.3.0"}
	out, changes, warnings := images.Rewrite("deploy.yaml", file, func(m images.Marker) (string, bool) {
		return chosen.Value(m.Field), m.Policy == "app"
	})
	fmt.Print(string(out))
	for _, c := range changes {
		fmt.Printf("%s:%d %s: %s -> %s\n", c.File, c.Line, c.Policy, c.Old, c.New)
	}
	fmt.Println(len(warnings), "warnings")
	// Output:
	// spec:
	//   containers:
	//     - name: app   # the app
	//       image: 'registry.example.com/team/app:1.3.0' # {"$imagepolicy": "flux-system:app"}
	// deploy.yaml:4 app: registry.example.com/team/app:1.2.0 -> registry.example.com/team/app:1.3.0
	// 0 warnings
}
