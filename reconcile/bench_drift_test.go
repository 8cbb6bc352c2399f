package reconcile_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// BenchmarkScaleDriftPass measures a no-op drift pass (every unit due for
// drift correction, nothing changed on disk) of the reconciler over N units
// of 4 File objects on a local target, --concurrency 8, at N = 1000, 3000,
// 10 000 (STEWARD_SCALE_SIZES overrides them), and prints the ratio and
// growth exponent between sizes (goal: 10 000 units cost at most 11x 1000).
// Two passes are measured: the first after the apply, which reads every
// File, and a steady one, which reads only what changed (the local target
// does not read again a file it found as wanted and sees unchanged).
// The parts are real: a git repository, the yaml generator, the local
// machine target; only the clock is the benchmark's, so that a whole pass
// falls due at once.
//
// Each size runs in a process of its own (this benchmark again, with
// STEWARD_DRIFT_CHILD set), so that one size's heap is not collected on
// another's time, and the sizes take turns: driftRounds rounds, each a run
// of steady passes at every size. A shared machine's speed drifts over the
// minutes a series takes; taking turns puts the sizes compared side by side
// in time, and each round gives a ratio of its own. With
// STEWARD_DRIFT_PROFILE=DIR each size writes its CPU profile there
// (labelled drift=N, pass=first|steady).
func BenchmarkScaleDriftPass(b *testing.B) {
	if v := os.Getenv(driftChildEnv); v != "" {
		driftChild(b, v)
		return
	}
	sizes := scaleSizes(b)
	kids := make([]*driftKid, len(sizes))
	for i, n := range sizes {
		kids[i] = startDriftKid(b, n)
		defer kids[i].stop()
	}
	for range b.N * driftRounds {
		for _, k := range kids {
			k.run(b)
		}
	}
	for _, k := range kids {
		k.finish(b)
		b.Logf("%d units / %d objects: first pass (in process) %.1f s; no-op drift pass: first %s; steady %s, mean of %d rounds of %d; live heap %.1f MiB after the apply, %.1f MiB after the drift passes",
			k.n, 4*k.n, k.ready.First.Seconds(), k.ready.FirstDrift, k.total(), len(k.steady), k.passes, k.ready.LiveApplied, k.liveAfter)
	}
	a := kids[0]
	for _, c := range kids[1:] {
		size := math.Log(float64(c.n) / float64(a.n))
		exp := func(r float64) float64 { return math.Log(r) / size }
		first := c.ready.FirstDrift.CPU.Seconds() / a.ready.FirstDrift.CPU.Seconds()
		firstWall := c.ready.FirstDrift.Wall.Seconds() / a.ready.FirstDrift.Wall.Seconds()
		b.Logf("%d -> %d units: first no-op drift pass x%.2f wall (exponent %.2f), x%.2f CPU (exponent %.2f)",
			a.n, c.n, firstWall, exp(firstWall), first, exp(first))
		at, ct := a.total(), c.total()
		wall := ct.Wall.Seconds() / float64(ct.Passes) / (at.Wall.Seconds() / float64(at.Passes))
		cpu := ct.CPU.Seconds() / float64(ct.Passes) / (at.CPU.Seconds() / float64(at.Passes))
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := range c.steady {
			r := c.steady[i].CPU.Seconds() / float64(c.steady[i].Passes) / (a.steady[i].CPU.Seconds() / float64(a.steady[i].Passes))
			lo, hi = min(lo, r), max(hi, r)
		}
		b.Logf("%d -> %d units: steady no-op drift pass x%.2f wall (exponent %.2f), x%.2f CPU (exponent %.2f; rounds x%.2f-x%.2f); goal exponent <= 1.05, 10 000 vs 1000 <= 11x",
			a.n, c.n, wall, exp(wall), cpu, exp(cpu), lo, hi)
		if c == kids[len(kids)-1] {
			b.ReportMetric(cpu, "steady-cpu-ratio")
			b.ReportMetric(first, "first-cpu-ratio")
		}
	}
}

// driftRounds is how many turns the sizes take.
const driftRounds = 5

// driftChildEnv names the size a child process of BenchmarkScaleDriftPass
// measures.
const driftChildEnv = "STEWARD_DRIFT_CHILD"

// driftMeasure is what a run of drift passes cost.
type driftMeasure struct {
	Passes           int
	Wall, CPU, GCCPU time.Duration
	KiBPerUnit,
	GCsPerPass float64
}

func (m driftMeasure) String() string {
	p := time.Duration(max(m.Passes, 1))
	return fmt.Sprintf("%d ms (%d ms CPU, of it %d ms collecting; %.1f KiB allocated per unit, %.1f collections per pass)",
		(m.Wall / p).Milliseconds(), (m.CPU / p).Milliseconds(), (m.GCCPU / p).Milliseconds(), m.KiBPerUnit, m.GCsPerPass)
}

// gcCPU is the runtime's estimate of the CPU time spent collecting so far.
func gcCPU() time.Duration {
	s := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}}
	metrics.Read(s)
	return time.Duration(s[0].Value.Float64() * float64(time.Second))
}

// driftReport is a child's answer: when ready, the first pass and the
// first drift pass; then a run of steady passes, or the live heap.
type driftReport struct {
	First       time.Duration
	FirstDrift  driftMeasure
	LiveApplied float64
	Steady      *driftMeasure
	LiveAfter   float64
}

// driftChild is a child's side: it builds and applies n units, measures
// the first drift pass, reports, then answers "run K" with K steady
// passes and "heap" with the live heap, on file descriptor 3, until its
// input ends.
func driftChild(b *testing.B, v string) {
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatalf("%s=%q", driftChildEnv, v)
	}
	out := json.NewEncoder(os.NewFile(3, "reports"))
	r, clock := scaleReconciler(b, n)
	start := time.Now()
	res, err := r.Pass(context.Background(), reconcile.PassRequest{})
	if err != nil || res.Failed() || len(res.Events) != n {
		b.Fatalf("first pass: %v, %d events, failed %v", err, len(res.Events), res != nil && res.Failed())
	}
	ready := driftReport{First: time.Since(start), LiveApplied: liveHeapMiB()}
	// The first drift pass after the apply, which reads every File,
	// starts from a collected heap.
	ready.FirstDrift = driftPasses(b, r, clock, n, "first", 1)
	must(b, out.Encode(ready))
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "heap" {
			must(b, out.Encode(driftReport{LiveAfter: liveHeapMiB()}))
			continue
		}
		k, err := strconv.Atoi(strings.TrimPrefix(in.Text(), "run "))
		if err != nil {
			b.Fatalf("command %q", in.Text())
		}
		// Passes run back to back, as a daemon runs them: each pays its
		// share of the collections its garbage causes. (Collecting
		// before each pass and timing it alone, as this did, left a
		// 1000-unit pass's garbage to a collection outside the time,
		// while a 10 000-unit pass runs one within its own.)
		m := driftPasses(b, r, clock, n, "steady", k)
		must(b, out.Encode(driftReport{Steady: &m}))
	}
	runtime.KeepAlive(r)
}

// driftPasses runs k no-op drift passes back to back and returns what they
// cost, labelled by size and pass for a CPU profile (go tool pprof
// -tagfocus drift=1000).
func driftPasses(b *testing.B, r *reconcile.Reconciler, clock *benchClock, n int, label string, k int) driftMeasure {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start, cpuStart, gcStart := time.Now(), cpuTime(b), gcCPU()
	for range k {
		clock.Advance(2 * time.Hour)
		var res *reconcile.PassResult
		var err error
		pprof.Do(context.Background(), pprof.Labels("drift", fmt.Sprint(n), "pass", label), func(ctx context.Context) {
			res, err = r.Pass(ctx, reconcile.PassRequest{})
		})
		if err != nil || res.Failed() || len(res.Events) != n {
			b.Fatalf("drift pass: %v, %d events", err, len(res.Events))
		}
		for _, e := range res.Events {
			if e.Drift != 0 || e.ChangeSet == nil || e.ChangeSet.HasChanges() {
				b.Fatalf("drift pass changed %s", e.Unit.Name)
			}
		}
	}
	m := driftMeasure{Passes: k, Wall: time.Since(start), CPU: cpuTime(b) - cpuStart, GCCPU: gcCPU() - gcStart}
	runtime.ReadMemStats(&after)
	// Allocation per unit does not depend on the machine's load: the
	// steadiest sign of a pass growing faster than the estate.
	m.KiBPerUnit = float64(after.TotalAlloc-before.TotalAlloc) / 1024 / float64(n*k)
	m.GCsPerPass = float64(after.NumGC-before.NumGC) / float64(k)
	return m
}

// driftKid is the parent's side of a child process measuring n units.
type driftKid struct {
	n, passes int
	cmd       *exec.Cmd
	in        *os.File
	reports   *json.Decoder
	log       bytes.Buffer
	ready     driftReport
	steady    []driftMeasure
	liveAfter float64
}

// startDriftKid starts the child for n units and waits until it has
// applied them and measured the first drift pass.
func startDriftKid(b *testing.B, n int) *driftKid {
	// Steady passes per run: at least 10, and as many as make 100 000
	// units, so that a small size is not timed over a fraction of a
	// second.
	k := &driftKid{n: n, passes: max(10, 100_000/n)}
	// No timeout of its own: it lives as long as the series, and ends
	// when the parent does (its input closes).
	args := []string{"-test.run", "^$", "-test.bench", "^BenchmarkScaleDriftPass$", "-test.benchtime", "1x", "-test.timeout", "0"}
	if dir := os.Getenv("STEWARD_DRIFT_PROFILE"); dir != "" {
		args = append(args, "-test.cpuprofile", filepath.Join(dir, fmt.Sprintf("cpu-%d.pprof", n)))
	}
	k.cmd = exec.Command(os.Args[0], args...)
	k.cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", driftChildEnv, n))
	k.cmd.Stdout, k.cmd.Stderr = &k.log, &k.log
	stdin, in, err := os.Pipe()
	must(b, err)
	rep, repW, err := os.Pipe()
	must(b, err)
	k.cmd.Stdin, k.cmd.ExtraFiles, k.in = stdin, []*os.File{repW}, in
	must(b, k.cmd.Start())
	stdin.Close()
	repW.Close()
	k.reports = json.NewDecoder(rep)
	k.read(b, &k.ready)
	return k
}

func (k *driftKid) read(b *testing.B, v *driftReport) {
	if err := k.reports.Decode(v); err != nil {
		k.stop()
		b.Fatalf("%d units: the child process did not report (%v):\n%s", k.n, err, k.logTail())
	}
}

// run has the child run its steady passes once.
func (k *driftKid) run(b *testing.B) {
	fmt.Fprintf(k.in, "run %d\n", k.passes)
	var rep driftReport
	k.read(b, &rep)
	if rep.Steady == nil {
		b.Fatalf("%d units: no steady passes reported", k.n)
	}
	k.steady = append(k.steady, *rep.Steady)
}

// finish asks the child for its live heap and lets it end.
func (k *driftKid) finish(b *testing.B) {
	fmt.Fprintln(k.in, "heap")
	var rep driftReport
	k.read(b, &rep)
	k.liveAfter = rep.LiveAfter
	k.in.Close()
	if err := k.cmd.Wait(); err != nil {
		b.Fatalf("%d units: the child process: %v\n%s", k.n, err, k.logTail())
	}
}

func (k *driftKid) stop() {
	k.in.Close()
	if k.cmd.ProcessState == nil {
		k.cmd.Process.Kill()
		k.cmd.Wait()
	}
}

// total sums the steady runs.
func (k *driftKid) total() driftMeasure {
	var t driftMeasure
	for _, m := range k.steady {
		t.Passes += m.Passes
		t.Wall += m.Wall
		t.CPU += m.CPU
		t.GCCPU += m.GCCPU
		t.KiBPerUnit += m.KiBPerUnit * float64(m.Passes)
		t.GCsPerPass += m.GCsPerPass * float64(m.Passes)
	}
	if t.Passes > 0 {
		t.KiBPerUnit /= float64(t.Passes)
		t.GCsPerPass /= float64(t.Passes)
	}
	return t
}

// logTail is the end of the child's output, for a failure.
func (k *driftKid) logTail() string {
	s := k.log.String()
	return s[max(0, len(s)-4000):]
}
