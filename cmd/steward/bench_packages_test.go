package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
)

// BenchmarkPackageResolution builds a stack of 50 package units from 10
// package repositories on the http-backend (5 units with different
// parameters per repository). It reports the requests one resolution makes
// when nothing changed (goal: one ref advertisement per repository and no
// fetch) and the time of `steward build` with the cache (package clones
// and generation cache) cold versus warm.
func BenchmarkPackageResolution(b *testing.B) {
	const repos, perRepo = 10, 5
	srv := gitserver.Start(b, gitserver.Options{})
	var stack strings.Builder
	var units strings.Builder
	stack.WriteString("apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n")
	files := map[string]string{}
	for k, v := range greeterFiles {
		files[k] = strings.Replace(v, "metadata: {name: greeting}", "metadata: {name: greeting-$STEWARD_PARAM_COUNT}", 1)
	}
	for r := range repos {
		fmt.Fprintf(&stack, "  t%02d: {local: {root: out/t%02d}}\n", r, r)
		repo := srv.NewRepo(b, fmt.Sprintf("ops%02d", r))
		repo.Commit(b, "greeter", files)
		repo.Tag(b, "greeter/v1.0.0", true)
		repo.Commit(b, "greeter 1.1", map[string]string{"greeter/README": "1.1\n"})
		repo.Tag(b, "greeter/v1.1.0", true)
		for u := range perRepo {
			fmt.Fprintf(&units, "  - name: g%02d-%d\n    package: {git: %q, path: greeter, channel: stable}\n    target: t%02d\n    with: {greeting: hi, count: %d, path: /greetings/g%d}\n", r, u, repo.URL, r, u+1, u)
		}
	}
	stack.WriteString("units:\n" + units.String())
	dir := b.TempDir()
	writeTree(b, dir, map[string]string{"steward.yaml": stack.String()})
	if code, out, errOut := runBench(b, b.TempDir(), "packages", "update", "-C", dir); code != 0 {
		b.Fatalf("packages update: exit %d\n%s%s", code, out, errOut)
	}

	var cold, warm time.Duration
	var refAds, packs int64
	for range b.N {
		cache := b.TempDir()
		start := time.Now()
		if code, _, errOut := runBench(b, cache, "build", "-C", dir); code != 0 {
			b.Fatalf("cold build: exit %d: %s", code, errOut)
		}
		cold += time.Since(start)

		srv.ResetCounts()
		start = time.Now()
		code, out, errOut := runBench(b, cache, "build", "-C", dir)
		warm += time.Since(start)
		if code != 0 || strings.Count(out, "# unit: ") != repos*perRepo {
			b.Fatalf("warm build: exit %d: %s", code, errOut)
		}
		c := srv.Counts()
		refAds += c.RefAdvertisements
		packs += c.Packs
	}
	n := float64(b.N)
	b.ReportMetric(float64(refAds)/n/repos, "refads/repo/resolution")
	b.ReportMetric(float64(packs)/n, "fetches/resolution")
	b.ReportMetric(float64(cold.Milliseconds())/n, "cold-ms")
	b.ReportMetric(float64(warm.Milliseconds())/n, "warm-ms")
	b.ReportMetric(float64(warm)/float64(cold), "warm/cold")
}
