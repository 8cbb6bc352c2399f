package main

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
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
// Secrets, no cache either way. Goal: ratio <= 1.2. cpu-ratio compares the
// CPU time the process used instead: other work on a shared machine moves
// it less than the wall time.
func BenchmarkSOPSBuild(b *testing.B) {
	key := sopstest.NewAgeKey(b)
	plainDir, sopsDir := b.TempDir(), b.TempDir()
	sopsBenchRepo(b, plainDir, "")
	sopsBenchRepo(b, sopsDir, key.Recipient)
	build := func(dir string, args ...string) (wall, cpu time.Duration) {
		start, startCPU := time.Now(), selfCPU(b)
		code, out, errOut := runIn(b, "", append([]string{"build", "--no-cache", "-C", dir}, args...)...)
		wall, cpu = time.Since(start), selfCPU(b)-startCPU
		if code != 0 || strings.Count(out, "\n---\n") != 3999 {
			b.Fatalf("build %s: exit %d, %d objects\n%s", dir, code, strings.Count(out, "\n---\n")+1, errOut)
		}
		return wall, cpu
	}
	build(plainDir) // warm up: page cache, the runtime's heap
	const rounds = 5
	var plain, encrypted, plainCPU, encryptedCPU []time.Duration
	for b.Loop() {
		for range rounds {
			w, c := build(plainDir)
			plain, plainCPU = append(plain, w), append(plainCPU, c)
			w, c = build(sopsDir, "--sops-age-keys", key.File)
			encrypted, encryptedCPU = append(encrypted, w), append(encryptedCPU, c)
		}
	}
	// Medians: a 2-core machine shared with other work has outliers.
	p, e := median(plain), median(encrypted)
	pc, ec := median(plainCPU), median(encryptedCPU)
	b.ReportMetric(float64(p.Nanoseconds()), "plain-ns/build")
	b.ReportMetric(float64(e.Nanoseconds()), "sops-ns/build")
	b.ReportMetric(float64(e)/float64(p), "ratio")
	b.ReportMetric(float64(ec)/float64(pc), "cpu-ratio")
	b.Logf("4000 objects, 500 SOPS Secrets: plain %v, sops %v (median of %d), ratio %.2f; CPU plain %v, sops %v, ratio %.2f",
		p, e, len(plain), float64(e)/float64(p), pc, ec, float64(ec)/float64(pc))
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// selfCPU is the CPU time this process has used, user and system.
func selfCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
