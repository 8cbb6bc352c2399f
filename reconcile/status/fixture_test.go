package status

import (
	"errors"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// testNow is the clock of every rendered page in the tests.
var testNow = time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)

const (
	revGood = "3f9a1c2b7e6d5f4a3b2c1d0e9f8a7b6c5d4e3f2a"
	revBad  = "b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9"
	// evilError is error text a generator could produce from a hostile
	// repository: it must show as text, never as markup.
	evilError = `generate: render apps/app/values.yaml:12: <script>alert("x")</script> & <b>bold</b>`
)

// fixtureStore returns a store holding one unit in every state, filled the
// way the scheduler fills it.
func fixtureStore() *Store {
	s := NewStore()
	s.SetSource("https://deploy:s3cr3t-token@git.example.com/estate.git#main", revBad, testNow.Add(-42*time.Second),
		errors.New("fetch https://deploy:s3cr3t-token@git.example.com/estate.git: connection refused"))
	s.Set(UnitStatus{
		Name: "platform", Target: "prod", TargetKind: "kubernetes", State: StateReady, Ready: true,
		Revision: revGood, LastAttemptedRevision: revGood,
		LastAttempt: testNow.Add(-3 * time.Minute), LastSuccess: testNow.Add(-3 * time.Minute),
		NextRun: testNow.Add(7 * time.Minute),
		LastResult: &reconcile.ChangeSet{
			Unit: "platform", Target: "prod", Revision: revGood, Duration: 2345 * time.Millisecond,
			Changes: []reconcile.Change{
				{Object: reconcile.ObjectID{Kind: "Namespace", Name: "platform"}, Action: reconcile.Unchanged},
				{Object: reconcile.ObjectID{Group: "apps", Kind: "Deployment", Namespace: "platform", Name: "ingress"},
					Action: reconcile.Configured, Diff: "--- live\n+++ git\n-  replicas: 2\n+  replicas: 3\n"},
				{Object: reconcile.ObjectID{Kind: "ConfigMap", Namespace: "platform", Name: "ingress-config"}, Action: reconcile.Created},
				{Object: reconcile.ObjectID{Kind: "Service", Namespace: "platform", Name: "old"}, Action: reconcile.Deleted},
			},
		},
	})
	s.Set(UnitStatus{
		Name: "web-hosts", Target: "web", TargetKind: "machines", State: StateFailed,
		Revision: revGood, LastAttemptedRevision: revBad, DependsOn: []string{"platform"},
		LastError:   evilError,
		LastAttempt: testNow.Add(-50 * time.Second), LastSuccess: testNow.Add(-2 * time.Hour),
		NextRun: testNow.Add(30 * time.Second), Drift: 2,
		LastResult: &reconcile.ChangeSet{
			Unit: "web-hosts", Target: "web", Revision: revBad,
			Changes: []reconcile.Change{
				{Host: "web1:22", Object: reconcile.ObjectID{Kind: "File", Name: "motd"}, Action: reconcile.Configured},
				{Host: "web2:22", Object: reconcile.ObjectID{Kind: "Unit", Name: "app.service"}, Action: reconcile.Failed,
					Message: "systemctl restart app.service: exit status 1"},
				{Host: "web2:22", Object: reconcile.ObjectID{Kind: "Package", Name: "nginx"}, Action: reconcile.Skipped,
					Message: "rollout stopped after 1 failure"},
			},
		},
	})
	s.Set(UnitStatus{Name: "app", Target: "prod", TargetKind: "kubernetes", State: StateProgressing,
		Revision: revGood, LastAttemptedRevision: revBad, LastAttempt: testNow.Add(-2 * time.Second)})
	s.Set(UnitStatus{Name: "monitoring", Target: "prod", TargetKind: "kubernetes", State: StateBlocked,
		Message: "deny window business-hours (Mon-Fri 09:00-17:00 Europe/Berlin)", Revision: revGood,
		NextRun: testNow.Add(95 * time.Minute)})
	s.Set(UnitStatus{Name: "legacy", Target: "here", TargetKind: "local", State: StateSuspended,
		Message: "suspended by steward suspend"})
	s.Set(UnitStatus{Name: "reports", Target: "here", TargetKind: "local", State: StatePending,
		DependsOn: []string{"web-hosts", "app"}})
	s.MarkReady()
	return s
}
