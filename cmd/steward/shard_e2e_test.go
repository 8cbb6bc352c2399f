package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/stewardhq/steward/reconcile/status"
	"github.com/stewardhq/steward/targets/kubernetes/shard"
)

// failoverBound is how soon a dead replica's units must be applied by
// another (the 30 s); the defaults give 15 s of Lease plus up to
// one 3 s renew period.
const failoverBound = 30 * time.Second

// TestShardedReplicas runs three replicas of `steward run --shards 6` over
// 30 units on a local target, a third of them depending on a unit another
// replica applies, and goes through what a fleet lives through: a replica
// joining, one killed with SIGKILL, one cut off from the API server.
// Throughout, no unit is applied by two replicas at once.
func TestShardedReplicas(t *testing.T) {
	rig := newShardRig(t, 30, 6)
	px := newProxy(t, apiHost(t, rig.kube))

	// Two replicas: three shards each, every unit applied.
	rig.start("r1", "")
	rig.start("r2", "")
	rig.waitUntil("two replicas sharing the shards and every unit applied", 2*time.Minute, func() (bool, string) {
		n := count(rig.holders())
		applied := map[string]bool{}
		for _, a := range rig.journal() {
			applied[a.Unit] = true
		}
		return n["r1"] == 3 && n["r2"] == 3 && len(applied) == 30, fmt.Sprintf("shards %v, %d units applied", n, len(applied))
	})

	// Scale to three: the shards rebalance to two each and none stays
	// unowned longer than the failover bound.
	var mu sync.Mutex
	unowned := map[int]time.Duration{}
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		since := map[int]time.Time{}
		for {
			select {
			case <-stopSampling:
				return
			case <-time.After(100 * time.Millisecond):
			}
			now := time.Now()
			for k, h := range rig.holders() {
				if h != "" {
					delete(since, k)
					continue
				}
				if _, ok := since[k]; !ok {
					since[k] = now
				}
				mu.Lock()
				unowned[k] = max(unowned[k], now.Sub(since[k]))
				mu.Unlock()
			}
		}
	}()
	r3 := rig.start("r3", kubeconfigVia(t, rig.kube, px))
	rig.waitUntil("three replicas with two shards each", 2*time.Minute, func() (bool, string) {
		n := count(rig.holders())
		return n["r1"] == 2 && n["r2"] == 2 && n["r3"] == 2, fmt.Sprintf("shards %v", n)
	})
	close(stopSampling)
	<-sampled
	for k, d := range unowned {
		if d > failoverBound {
			t.Errorf("shard %d unowned for %s while rebalancing, want at most %s", k, d, failoverBound)
		}
	}

	// Steady state: each unit applied by exactly one replica, the one
	// holding its shard, and every replica's status shows every unit and
	// its owner.
	holders := rig.holders()
	steady := time.Now()
	rig.waitUntil("every unit re-applied in the steady state", time.Minute, func() (bool, string) {
		seen := map[string]bool{}
		for _, a := range rig.journal() {
			if a.Start.After(steady) {
				seen[a.Unit] = true
			}
		}
		return len(seen) == 30, fmt.Sprintf("%d units re-applied", len(seen))
	})
	for _, a := range rig.journal() {
		if want := holders[shard.Assign(a.Unit, 6)]; a.Start.After(steady) && a.Replica != want {
			t.Errorf("%s applied by %s at %s, but %s holds its shard", a.Unit, a.Replica, a.Start.Format(time.StampMilli), want)
		}
	}
	for id, d := range rig.replicas {
		d.waitFor(t, id+" showing every unit ready with its owner", time.Minute, func(s *status.Snapshot) bool {
			if s == nil || len(s.Units) != 30 {
				return false
			}
			for _, u := range s.Units {
				if u.State != status.StateReady || u.Owner != holders[shard.Assign(u.Name, 6)] {
					return false
				}
			}
			return true
		})
		page := get(t, "http://"+d.addr+"/")
		for _, r := range []string{"r1", "r2", "r3"} {
			if got, want := strings.Count(page, `owner">on `+r+"<"), count(holders)[r]*0; got <= want {
				t.Errorf("%s's status page names %s as the owner of no unit", id, r)
			}
		}
	}

	// kill -9 r1: its units are applied by another replica within the bound.
	killed := time.Now()
	must(t, rig.replicas["r1"].cmd.Process.Kill())
	<-rig.replicas["r1"].done
	var orphans []string
	for _, u := range rig.units {
		if holders[shard.Assign(u, 6)] == "r1" {
			orphans = append(orphans, u)
		}
	}
	// Two durations from the kill: until every shard r1 held is held by
	// another replica (sampled, so at most that), and until each of its
	// units was applied again. The bound is on the second, which includes
	// the first.
	var failover, takeover time.Duration
	rig.waitUntil("r1's units applied by another replica", 2*failoverBound, func() (bool, string) {
		if takeover == 0 {
			taken, hs := true, rig.holders()
			now := time.Now()
			for k, h := range hs {
				if holders[k] == "r1" && (h == "" || h == "r1") {
					taken = false
				}
			}
			if taken {
				takeover = now.Sub(killed)
			}
		}
		first := map[string]time.Time{}
		for _, a := range rig.journal() {
			if a.Replica != "r1" && a.Start.After(killed) {
				if _, ok := first[a.Unit]; !ok {
					first[a.Unit] = a.Start
				}
			}
		}
		failover = 0
		for _, u := range orphans {
			at, ok := first[u]
			if !ok {
				return false, fmt.Sprintf("%s not applied since the kill", u)
			}
			failover = max(failover, at.Sub(killed))
		}
		return true, ""
	})
	t.Logf("r1 killed: its shards taken over within %s, its %d units applied again after %s", takeover.Round(time.Millisecond),
		len(orphans), failover.Round(time.Millisecond))
	if failover > failoverBound {
		t.Errorf("failover took %s, want at most %s", failover, failoverBound)
	}

	// Cut r3 off from the API server: it stops applying before its Leases
	// can expire, and r2 takes everything over.
	rig.waitUntil("r2 and r3 with three shards each", 2*failoverBound, func() (bool, string) {
		n := count(rig.holders())
		return n["r2"] == 3 && n["r3"] == 3, fmt.Sprintf("shards %v", n)
	})
	px.partition()
	expires := map[int]time.Time{}
	for k := range 6 {
		l, err := rig.client.CoordinationV1().Leases(rig.ns).Get(context.Background(), shard.ShardLease(k), metav1.GetOptions{})
		must(t, err)
		if l.Spec.HolderIdentity != nil && *l.Spec.HolderIdentity == "r3" {
			expires[k] = l.Spec.RenewTime.Add(time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second)
		}
	}
	if len(expires) != 3 {
		t.Fatalf("r3 holds %d shards when cut off, want 3", len(expires))
	}
	rig.waitUntil("r2 holding every shard", 2*failoverBound, func() (bool, string) {
		n := count(rig.holders())
		return n["r2"] == 6, fmt.Sprintf("shards %v", n)
	})
	select {
	case err := <-r3.done:
		t.Fatalf("r3 exited when cut off (%v); want it running and waiting", err)
	default:
	}
	last := time.Time{}
	for _, a := range rig.journal() {
		if a.Replica != "r3" {
			continue
		}
		if exp, ok := expires[a.Shard]; ok && !a.End.Before(exp) {
			t.Errorf("r3 applied %s until %s, after its Lease of shard %d expired at %s", a.Unit,
				a.End.Format(time.StampMilli), a.Shard, exp.Format(time.StampMilli))
		}
		if a.End.After(last) {
			last = a.End
		}
	}
	earliest := time.Time{}
	for _, e := range expires {
		if earliest.IsZero() || e.Before(earliest) {
			earliest = e
		}
	}
	t.Logf("r3 cut off: its last apply ended %s before its first Lease expired", earliest.Sub(last).Round(time.Millisecond))

	if bad := overlaps(rig.journal()); len(bad) > 0 {
		t.Errorf("units applied by two replicas at once:\n%s", strings.Join(bad, "\n"))
	}
	if ok, _ := get2(t, "http://"+r3.addr+"/api/status"); !ok {
		t.Errorf("r3 stopped serving its status while cut off")
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func get2(t *testing.T, url string) (bool, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK, string(b)
}

// TestShardRecordsFollowTheStack: the unit states the replicas publish
// follow the stack; when a unit leaves it, its record is deleted by the
// replica holding its shard, and the others stay.
func TestShardRecordsFollowTheStack(t *testing.T) {
	rig := newShardRig(t, 4, 2, "--poll-interval", "1s")
	rig.start("r1", "")
	rig.start("r2", "")
	records := func() map[string]bool {
		list, err := rig.client.CoreV1().ConfigMaps(rig.ns).List(context.Background(), metav1.ListOptions{LabelSelector: shard.LabelUnitStatus})
		must(t, err)
		out := map[string]bool{}
		for _, cm := range list.Items {
			out[cm.Data["unit"]] = true
		}
		return out
	}
	rig.waitUntil("a record per unit", 2*time.Minute, func() (bool, string) {
		got := records()
		return len(got) == 4, fmt.Sprintf("records of %v", got)
	})
	commitRepo(t, rig.repo, map[string]string{"steward.yaml": shardStack(3, filepath.Join(rig.dir, "out"))["steward.yaml"]})
	rig.waitUntil("u03's record deleted, the others kept", 2*time.Minute, func() (bool, string) {
		got := records()
		return len(got) == 3 && got["u00"] && got["u01"] && got["u02"], fmt.Sprintf("records of %v", got)
	})
}
