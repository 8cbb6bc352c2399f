package local_test

import (
	"context"
	"fmt"
	"os"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/machine/local"
)

// A local target plans and applies machine objects under a root directory;
// the second run changes nothing.
func ExampleNewTarget() {
	root, _ := os.MkdirTemp("", "steward-example-")
	defer os.RemoveAll(root)
	objs, _ := reconcile.DecodeObjects([]byte(`
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: motd}
spec: {path: /etc/motd, content: "hello\n", mode: "0644"}
`), "motd.yaml")
	target := local.NewTarget("here", root, nil)
	req := reconcile.ApplyRequest{Unit: &reconcile.Unit{Name: "demo"}, Revision: "r1", Objects: objs}
	for range 2 {
		plan, err := target.Plan(context.Background(), req)
		if err != nil {
			fmt.Println(err)
			return
		}
		cs, err := target.Apply(context.Background(), plan)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, c := range cs.Changes {
			fmt.Println(c)
		}
	}
	// Output:
	// local machine.steward.dev/File/motd created
	// local machine.steward.dev/File/motd unchanged
}
