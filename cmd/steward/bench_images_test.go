package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
	testregistry "github.com/stewardhq/steward/deploy/testenv/registry"
	"github.com/stewardhq/steward/reconcile/status"
)

// BenchmarkImagePushToCommit measures, in `steward run`, the time from a
// new tag pushed to the registry to steward's commit on the remote (git
// http-backend), scanning every images.interval. The write-back itself
// (fetch, edit, generate and check, commit, push) is reported apart from
// the wait for the next scan: latency ≈ interval/2 + write-back.
func BenchmarkImagePushToCommit(b *testing.B) {
	for _, interval := range []string{"200ms", "1s"} {
		b.Run("interval="+interval, func(b *testing.B) {
			reg := testregistry.Start(b, testregistry.Options{})
			reg.PushAt(b, "team/app", "1.0.0", time.Now())
			srv := gitserver.Start(b, gitserver.Options{})
			repo := srv.NewRepo(b, "fleet")
			files := imageDaemonRepo(reg.Host)
			files["steward.yaml"] = strings.Replace(files["steward.yaml"], "interval: 1s", "interval: "+interval, 1)
			repo.Commit(b, "base", files)
			work := b.TempDir()
			d := startDaemon(b, buildSteward(b), work, nil, "run", "--repo", srv.RepoURL("fleet"), "--poll-interval", "1h",
				"--registry-config", filepath.Join(work, "none.json"))
			d.waitFor(b, "the first scan", time.Minute, func(s *status.Snapshot) bool { return s != nil && s.Images != nil })
			var total time.Duration
			b.ResetTimer()
			for i := range b.N {
				tag := fmt.Sprintf("1.%d.0", i+1)
				start := time.Now()
				reg.PushAt(b, "team/app", tag, time.Now())
				for {
					if strings.Contains(repo.GitBare(b, "show", "main:app/conf.yaml"), "team/app:"+tag) {
						break
					}
					if time.Since(start) > time.Minute {
						b.Fatalf("no commit for %s:\n%s", tag, d.log)
					}
					time.Sleep(5 * time.Millisecond)
				}
				total += time.Since(start)
			}
			b.StopTimer()
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/push-to-commit")
			_ = d.stop(b)
		})
	}
}
