package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/sources/sops/sopstest"
)

// sopsBenchRepo writes a stack of 8 yaml units of 500 objects each (4000),
// 500 of them Secrets in files of their own, encrypted for recipient with
// encrypted_regex as Flux users do, or plain when recipient is "".
func sopsBenchRepo(tb testing.TB, dir, recipient string) {
	const units, per, secretsPer = 8, 500, 500 / 8
	files := map[string]string{}
	var stack strings.Builder
	stack.WriteString(stackHeader + "units:\n")
	secrets := 0
	for u := range units {
		name := fmt.Sprintf("app%d", u)
		fmt.Fprintf(&stack, "  - {name: %s, path: %s, generator: {yaml: {}}, target: prod}\n", name, name)
		n := secretsPer
		if u == units-1 {
			n = 500 - secrets
		}
		for i := range n {
			plain := fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: s%d, namespace: %s}\nstringData: {password: pass-%d-%d, user: app}\n", i, name, u, i)
			if recipient != "" {
				plain = string(sopstest.Encrypt(tb, "s.yaml", []byte(plain), "^(data|stringData)$", recipient))
			}
			files[fmt.Sprintf("%s/secret-%03d.yaml", name, i)] = plain
		}
		secrets += n
		var cms strings.Builder
		for i := range per - n {
			fmt.Fprintf(&cms, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%d, namespace: %s}\ndata: {key: value-%d, other: more-%d}\n", i, name, i, i)
		}
		files[name+"/configmaps.yaml"] = cms.String()
	}
	files["steward.yaml"] = stack.String()
	writeTree(tb, dir, files)
}

// BenchmarkSOPSBuild compares `steward build` of a 4000-object repository
// whose 500 Secrets are SOPS-encrypted (age) with the same build of plain
// Secrets, no cache either way. Goal: ratio <= 1.2.
func BenchmarkSOPSBuild(b *testing.B) {
	key := sopstest.NewAgeKey(b)
	plainDir, sopsDir := b.TempDir(), b.TempDir()
	sopsBenchRepo(b, plainDir, "")
	sopsBenchRepo(b, sopsDir, key.Recipient)
	build := func(dir string, args ...string) time.Duration {
		start := time.Now()
		code, out, errOut := runIn(b, "", append([]string{"build", "--no-cache", "-C", dir}, args...)...)
		d := time.Since(start)
		if code != 0 || strings.Count(out, "\n---\n") != 3999 {
			b.Fatalf("build %s: exit %d, %d objects\n%s", dir, code, strings.Count(out, "\n---\n")+1, errOut)
		}
		return d
	}
	build(plainDir) // warm up: page cache, the runtime's heap
	const rounds = 5
	var plain, encrypted []time.Duration
	for b.Loop() {
		for range rounds {
			plain = append(plain, build(plainDir))
			encrypted = append(encrypted, build(sopsDir, "--sops-age-keys", key.File))
		}
	}
	// Medians: a 2-core machine shared with other work has outliers.
	slices.Sort(plain)
	slices.Sort(encrypted)
	p, e := plain[len(plain)/2], encrypted[len(encrypted)/2]
	b.ReportMetric(float64(p.Nanoseconds()), "plain-ns/build")
	b.ReportMetric(float64(e.Nanoseconds()), "sops-ns/build")
	b.ReportMetric(float64(e)/float64(p), "ratio")
	b.Logf("4000 objects, 500 SOPS Secrets: plain %v, sops %v (median of %d), ratio %.2f", p, e, len(plain), float64(e)/float64(p))
}
