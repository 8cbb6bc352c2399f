package registry

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	testregistry "github.com/stewardhq/steward/deploy/testenv/registry"
	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/images"
	"github.com/stewardhq/steward/reconcile/images/policy"
)

// BenchmarkScan100Policies20Repos scans 100 policies (5 kinds) over 20
// repositories of 1000 tags in the real registry, and beside it the peer
// way: one tag list per policy (go-containerregistry's remote.List, as a
// tool without sharing does), ranking with the same policies. It reports
// the requests each sends and their wall times, both under the default
// rate limit (20 requests per second per registry), and steward's time
// without the limit.
func BenchmarkScan100Policies20Repos(b *testing.B) {
	const repos, tagsPerRepo = 20, 1000
	reg := testregistry.Start(b, testregistry.Options{})
	setup := time.Now()
	for r := range repos {
		tags := make([]string, 0, tagsPerRepo)
		for i := range tagsPerRepo {
			switch i % 4 {
			case 0, 1:
				tags = append(tags, fmt.Sprintf("1.%d.%d", i/40, i%40))
			case 2:
				tags = append(tags, fmt.Sprintf("2.%d.0-rc.%d", i/40, i%40))
			default:
				tags = append(tags, fmt.Sprintf("main-%04x-%d", i, 1700000000+i))
			}
		}
		reg.SeedTags(b, fmt.Sprintf("bench/app%02d", r), testregistry.Image(b, time.Unix(0, 0), "bench"), tags)
	}
	b.Logf("setup: %d tags seeded in %s", repos*tagsPerRepo, time.Since(setup).Round(time.Millisecond))

	var policies []reconcile.ImagePolicy
	for r := range repos {
		image := reg.Repo(fmt.Sprintf("bench/app%02d", r))
		policies = append(policies,
			reconcile.ImagePolicy{Name: fmt.Sprintf("semver-%d", r), Image: image, Semver: ">=1.0.0 <2"},
			reconcile.ImagePolicy{Name: fmt.Sprintf("minor-%d", r), Image: image, Semver: "~1.5"},
			reconcile.ImagePolicy{Name: fmt.Sprintf("candidate-%d", r), Image: image, Channel: "candidate"},
			reconcile.ImagePolicy{Name: fmt.Sprintf("alpha-%d", r), Image: image, Alphabetical: "asc"},
			reconcile.ImagePolicy{Name: fmt.Sprintf("build-%d", r), Image: image, Numerical: "asc",
				Filter: &reconcile.TagFilter{Pattern: `^main-[0-9a-f]+-(?P<ts>[0-9]+)$`, Extract: "$ts"}},
		)
	}
	opts := DefaultOptions()
	opts.Insecure = []string{reg.Host}
	opts.ConfigFile = writeEmptyConfig(b)

	var stewardTime, unlimitedTime, peerTime time.Duration
	var stewardStats Stats
	var peerRequests int64
	for b.Loop() {
		c, err := New(opts)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		choices := images.Scan(b.Context(), c.Scan(), policies, images.DefaultOptions())
		stewardTime += time.Since(start)
		for _, ch := range choices {
			if ch.Err != nil || ch.Tag == "" {
				b.Fatalf("%s: %v", ch.Policy, ch.Err)
			}
		}
		st := c.Stats()
		stewardStats.Requests += st.Requests
		stewardStats.TagLists += st.TagLists
		stewardStats.TagPages += st.TagPages
		stewardStats.Manifests += st.Manifests
		stewardStats.Pings += st.Pings

		// The same scan without the rate limit: the work itself.
		fast := opts
		fast.RequestsPerSecond, fast.Burst = 1e6, 1e6
		fc, err := New(fast)
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		images.Scan(b.Context(), fc.Scan(), policies, images.DefaultOptions())
		unlimitedTime += time.Since(start)

		// The peer: every policy lists its repository itself.
		peer, err := New(opts) // the same transport and counting
		if err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		pg, ctx := errgroup.WithContext(b.Context())
		pg.SetLimit(8)
		for i := range policies {
			pg.Go(func() error {
				repo, err := name.NewRepository(policies[i].Image, name.Insecure)
				if err != nil {
					return err
				}
				tags, err := remote.List(repo, remote.WithContext(ctx), remote.WithTransport(peer.rt))
				if err != nil {
					return err
				}
				p, err := policy.Compile(reconcile.PolicySpec(policies[i]))
				if err != nil {
					return err
				}
				if _, ok := p.Latest(tags); !ok {
					return fmt.Errorf("%s: no tag", policies[i].Name)
				}
				return nil
			})
		}
		if err := pg.Wait(); err != nil {
			b.Fatal(err)
		}
		peerTime += time.Since(start)
		peerRequests += peer.Stats().Requests
	}
	n := float64(b.N)
	b.ReportMetric(float64(stewardStats.Requests)/n, "requests/scan")
	b.ReportMetric(float64(stewardStats.TagLists)/n, "taglists/scan")
	b.ReportMetric(float64(stewardStats.TagPages)/n, "tagpages/scan")
	b.ReportMetric(float64(stewardStats.Pings)/n, "pings/scan")
	b.ReportMetric(float64(stewardStats.Manifests)/n, "manifests/scan")
	b.ReportMetric(float64(stewardTime.Milliseconds())/n, "ms/scan")
	b.ReportMetric(float64(unlimitedTime.Milliseconds())/n, "ms/scan-unlimited")
	b.ReportMetric(float64(peerRequests)/n, "peer-requests/scan")
	b.ReportMetric(float64(peerTime.Milliseconds())/n, "peer-ms/scan")
	b.ReportMetric(float64(peerTime)/float64(max(stewardTime, 1)), "peer/steward-time")
}

func writeEmptyConfig(b *testing.B) string {
	b.Helper()
	p := b.TempDir() + "/config.json"
	if err := writeFile(p, `{"auths": {}}`); err != nil {
		b.Fatal(err)
	}
	return p
}
