package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stewardhq/steward/targets/kubernetes/shard"
)

// BenchmarkShardFailover kills a replica of three `steward run --shards 6`
// ten times with SIGKILL and measures how long until every unit it owned
// was applied again by another, against the 30 s bound; then
// stops the replicas and reports the Lease API requests each made per
// second, and the peak RSS of each replica.
func BenchmarkShardFailover(b *testing.B) {
	const kills = 10
	for range b.N {
		rig := newShardRig(b, 30, 6)
		next := 0
		start := func() string {
			next++
			id := fmt.Sprintf("r%d", next)
			rig.start(id, "")
			return id
		}
		live := []string{start(), start(), start()}
		balanced := func() {
			rig.waitUntil("two shards each", 2*time.Minute, func() (bool, string) {
				n := count(rig.holders())
				for _, id := range live {
					if n[id] != 2 {
						return false, fmt.Sprintf("shards %v", n)
					}
				}
				return true, ""
			})
		}
		var times []time.Duration
		for i := range kills {
			balanced()
			victim := live[i%len(live)]
			holders := rig.holders()
			killed := time.Now()
			d := rig.replicas[victim]
			must(b, d.cmd.Process.Kill())
			<-d.done
			delete(rig.replicas, victim)
			live = slices.DeleteFunc(live, func(s string) bool { return s == victim })
			var failover time.Duration
			rig.waitUntil("the victim's units applied again", 2*failoverBound, func() (bool, string) {
				first := map[string]time.Time{}
				for _, a := range rig.journal() {
					if a.Start.After(killed) {
						if _, ok := first[a.Unit]; !ok {
							first[a.Unit] = a.Start
						}
					}
				}
				failover = 0
				for _, u := range rig.units {
					if holders[shard.Assign(u, 6)] != victim {
						continue
					}
					at, ok := first[u]
					if !ok {
						return false, u + " not applied yet"
					}
					failover = max(failover, at.Sub(killed))
				}
				return true, ""
			})
			times = append(times, failover)
			live = append(live, start())
		}
		balanced()
		slices.Sort(times)
		median := (times[kills/2-1] + times[kills/2]) / 2
		worst := times[kills-1]
		b.ReportMetric(median.Seconds(), "failover-median-s")
		b.ReportMetric(worst.Seconds(), "failover-worst-s")
		b.ReportMetric(worst.Seconds()/failoverBound.Seconds(), "worst-ratio-to-bound")

		var rates []float64
		var rss []float64
		re := regexp.MustCompile(`msg="shard leases released" leaseRequests=(\d+) seconds=([0-9.]+)`)
		for _, id := range live {
			d := rig.replicas[id]
			rss = append(rss, peakRSS(b, d.cmd.Process.Pid))
			if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				b.Fatal(err)
			}
			<-d.done
			m := re.FindStringSubmatch(d.log.String())
			if m == nil {
				b.Fatalf("%s logged no Lease request count:\n%s", id, tail(d.log.String(), 20))
			}
			n, _ := strconv.ParseFloat(m[1], 64)
			s, _ := strconv.ParseFloat(m[2], 64)
			rates = append(rates, n/s)
		}
		b.ReportMetric(slices.Max(rates), "lease-req/s/replica")
		b.ReportMetric(slices.Max(rss), "peak-MiB/replica")
		b.Logf("%d kills of 3 replicas, 30 units, 6 shards: failover median %s, worst %s (bound %s, ratio %.2f); Lease requests per replica %.2f/s (max of %v); peak RSS per replica %.1f MiB",
			kills, median.Round(time.Millisecond), worst.Round(time.Millisecond), failoverBound, worst.Seconds()/failoverBound.Seconds(),
			slices.Max(rates), rates, slices.Max(rss))
	}
}

// BenchmarkShardPeakRSS runs 1000 units over three replicas of
// `steward run --shards 6` until every unit was applied and reports the
// peak RSS of the largest replica, beside the single-replica goal of
// BenchmarkRunPeakRSS (223 MiB, Flux's).
func BenchmarkShardPeakRSS(b *testing.B) {
	for range b.N {
		rig := newShardRig(b, 1000, 6)
		for _, id := range []string{"r1", "r2", "r3"} {
			rig.start(id, "")
		}
		rig.waitUntil("every unit applied", 10*time.Minute, func() (bool, string) {
			seen := map[string]bool{}
			for _, a := range rig.journal() {
				seen[a.Unit] = true
			}
			return len(seen) == 1000, fmt.Sprintf("%d units applied", len(seen))
		})
		var rss []float64
		for _, id := range []string{"r1", "r2", "r3"} {
			rss = append(rss, peakRSS(b, rig.replicas[id].cmd.Process.Pid))
		}
		b.ReportMetric(slices.Max(rss), "peak-MiB/replica")
		b.ReportMetric(slices.Max(rss)/223, "ratio-to-flux")
		b.Logf("1000 units over 3 replicas: peak RSS per replica %v MiB (max %.1f, ratio to 223 MiB %.2f)", rss, slices.Max(rss), slices.Max(rss)/223)
	}
}
