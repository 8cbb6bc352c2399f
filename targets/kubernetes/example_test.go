package kubernetes_test

import (
	"context"
	"fmt"
	"log"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/kubernetes"
)

// A unit is planned (what `steward diff --live` prints) and then applied
// (what `steward sync` does).
func Example() {
	cfg, err := kubernetes.LoadConfig("", "prod") // KUBECONFIG, context prod
	if err != nil {
		log.Fatal(err)
	}
	opts := kubernetes.DefaultOptions()
	opts.Name = "prod"
	target, err := kubernetes.New(cfg, opts)
	if err != nil {
		log.Fatal(err)
	}
	objs, err := reconcile.DecodeObjects([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hello}\ndata: {a: b}\n"), "hello.yaml")
	if err != nil {
		log.Fatal(err)
	}
	unit := &reconcile.Unit{Name: "hello", Target: "prod", Namespace: "default", Prune: true}
	plan, err := target.Plan(context.Background(), reconcile.ApplyRequest{Unit: unit, Revision: "abc123", Objects: objs})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(kubernetes.DiffText(plan))
	cs, err := target.Apply(context.Background(), plan)
	if err != nil {
		log.Fatal(err)
	}
	for _, c := range cs.Changes {
		fmt.Println(c)
	}
}
