package kubernetes

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stewardhq/steward/deploy/testenv/kube"

	"github.com/stewardhq/steward/reconcile"
)

func TestWait(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	u := unit("wait-" + ns)
	u.Wait = &reconcile.Wait{Timeout: reconcile.Duration(time.Minute)}
	objs := objects(t, ns, appManifests)

	// There is no controller-manager: the test plays the Deployment
	// controller once the Deployment exists.
	done := make(chan error, 1)
	go func() { done <- markAvailable(env, ns, "app", 2) }()
	cs := mustSync(t, tg, u, objs)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if cs.Count(reconcile.Created) != 3 {
		t.Errorf("changes: %v", cs.Changes)
	}
}

func TestWaitTimeout(t *testing.T) {
	env := shared.Get(t)
	ns := env.Namespace(t)
	tg := testTarget(t, env.Config)
	u := unit("waitto-" + ns)
	u.Wait = &reconcile.Wait{Timeout: reconcile.Duration(3 * time.Second)}
	cs, err := syncUnit(t, tg, u, objects(t, ns, appManifests))
	var we *WaitError
	if !errors.As(err, &we) {
		t.Fatalf("error = %v, want a *WaitError", err)
	}
	if cs == nil || cs.Count(reconcile.Created) != 3 {
		t.Errorf("change set not returned with the wait error: %v", cs)
	}
	if len(we.NotReady) != 1 || we.NotReady[0].Object.Kind != "Deployment" || we.NotReady[0].Status != "InProgress" {
		t.Fatalf("not ready = %+v, want the Deployment InProgress", we.NotReady)
	}
	if we.NotReady[0].Message == "" || !strings.Contains(err.Error(), "apps/Deployment/"+ns+"/app: InProgress: ") {
		t.Errorf("wait error lacks the status message: %v", err)
	}
}

// markAvailable waits for the Deployment and writes the status a
// controller would.
func markAvailable(env *kube.Env, ns, name string, replicas int64) error {
	c, err := client.New(env.Config, client.Options{})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for ctx.Err() == nil {
		d := &unstructured.Unstructured{}
		d.SetAPIVersion("apps/v1")
		d.SetKind("Deployment")
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		d.Object["status"] = map[string]any{
			"observedGeneration": d.GetGeneration(),
			"replicas":           replicas, "updatedReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
			"conditions": []any{
				map[string]any{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
				map[string]any{"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
			},
		}
		if err := c.Status().Update(ctx, d); err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		return nil
	}
	return ctx.Err()
}
