package main

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The scale series (issue: one replica for a whole estate): `steward run`
// with N units of 4 File objects each on a local target, --concurrency 8,
// polling an hour away and drift correction once the first pass and a
// one-unit change are done (see driftInterval). STEWARD_SCALE_SIZES overrides the sizes
// (comma-separated unit counts) for a quicker run; STEWARD_SCALE_PROFILE
// names a directory to save each size's heap profile in.
var scaleSizes = []int{1000, 3000, 10000}

// scaleGoal is the growth exponent the series must stay under: time and
// memory grow at most as N^1.05.
const scaleGoal = 1.05

func scaleSeries(b *testing.B) []int {
	if v := envSizes(b, "STEWARD_SCALE_SIZES"); v != nil {
		return v
	}
	return scaleSizes
}

// envSizes reads a comma-separated list of unit counts from the
// environment variable name; nil when it is unset.
func envSizes(b *testing.B, name string) []int {
	v := os.Getenv(name)
	if v == "" {
		return nil
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("%s: %q is not a unit count", name, f)
		}
		out = append(out, n)
	}
	return out
}

// scalePoint is one size of the series.
type scalePoint struct {
	units   int
	first   time.Duration // start to every object applied and /readyz 200
	cpu     time.Duration // CPU time the daemon used for it
	rssMiB  float64       // peak resident memory to the one-unit change (VmHWM)
	webhook time.Duration // one-unit change: commit + webhook to applied on disk
	// driftRSSMiB is the peak resident memory once every unit has also
	// been through a drift pass, which keeps what it read (the machine
	// target's inventories, the local transport's file records).
	driftRSSMiB float64
}

// BenchmarkScale runs the daemon series and prints each size's first pass,
// peak RSS and one-unit webhook latency, then the growth exponents between
// consecutive sizes against the goal of 1.05.
func BenchmarkScale(b *testing.B) {
	bin := buildSteward(b)
	var points []scalePoint
	for _, n := range scaleSeries(b) {
		b.Run(fmt.Sprintf("units=%d", n), func(b *testing.B) {
			for range b.N {
				p := scaleRun(b, bin, n)
				b.ReportMetric(p.first.Seconds(), "first-pass-s")
				b.ReportMetric(p.cpu.Seconds(), "first-pass-cpu-s")
				b.ReportMetric(p.rssMiB, "peak-MiB")
				b.ReportMetric(float64(p.webhook.Milliseconds()), "webhook-ms")
				b.ReportMetric(p.driftRSSMiB, "peak-after-drift-MiB")
				b.Logf("%d units / %d objects: first pass %.1f s (%.1f s CPU), peak RSS %.0f MiB, one-unit change by webhook %d ms (goal <= 2000 ms); peak RSS after a drift pass %.0f MiB",
					n, 4*n, p.first.Seconds(), p.cpu.Seconds(), p.rssMiB, p.webhook.Milliseconds(), p.driftRSSMiB)
				points = append(points, p)
				logExponents(b, points)
			}
		})
	}
}

// logExponents logs, once the series has two sizes or more, the growth
// from the previous size to the last and from the first to the last
// (sub-benchmarks' logs are printed; their parent's are not).
func logExponents(b *testing.B, points []scalePoint) {
	if len(points) < 2 || points[len(points)-2].units == points[len(points)-1].units {
		return
	}
	a, c := points[len(points)-2], points[len(points)-1]
	size := math.Log(float64(c.units) / float64(a.units))
	t := math.Log(c.first.Seconds()/a.first.Seconds()) / size
	m := math.Log(c.rssMiB/a.rssMiB) / size
	cpu := math.Log(c.cpu.Seconds()/a.cpu.Seconds()) / size
	b.Logf("%d -> %d units: time x%.2f (exponent %.2f), CPU x%.2f (exponent %.2f), peak RSS x%.2f (exponent %.2f); goal exponent <= %.2f",
		a.units, c.units, c.first.Seconds()/a.first.Seconds(), t, c.cpu.Seconds()/a.cpu.Seconds(), cpu, c.rssMiB/a.rssMiB, m, scaleGoal)
	if first, last := points[0], points[len(points)-1]; len(points) > 2 {
		b.Logf("%d -> %d units: time ratio %.1f for %.0fx the units (goal <= %.0f); peak RSS at %d units %.0f MiB, %.0f MiB after a drift pass (goal <= 512)",
			first.units, last.units, last.first.Seconds()/first.first.Seconds(), float64(last.units)/float64(first.units),
			1.1*float64(last.units)/float64(first.units), last.units, last.rssMiB, last.driftRSSMiB)
	}
}

// scaleRun starts `steward run` on a fresh repository of n units, times the
// first pass, then commits a change to one unit and times it from the
// webhook to the file on disk.
func scaleRun(b *testing.B, bin string, n int) scalePoint {
	repo, work := b.TempDir(), b.TempDir()
	fleet := fileFleet(n, 4)
	initRepo(b, repo, fleet)
	start := time.Now()
	drift := driftInterval(n)
	d := startQuiet(b, bin, work, benchEnv, "run", "-C", repo, "--concurrency", "8", "--poll-interval", "1h", "--interval", drift.String(), "--pprof")
	p := scalePoint{units: n, first: time.Since(start), cpu: processCPU(b, d.cmd.Process.Pid)}
	if got := countFiles(b, filepath.Join(work, "out", "srv")); got != 4*n {
		b.Fatalf("ready with %d files applied, want %d", got, 4*n)
	}
	saveHeapProfile(b, d, n)

	last := fmt.Sprintf("u%04d", n-1)
	target := filepath.Join(work, "out", "srv", last, "f3.conf")
	old := fmt.Sprintf(`unit %s file 3 v0\n`, last)
	changed := strings.Replace(fleet["units/"+last+"/files.yaml"], old, strings.Replace(old, "v0", "v1", 1), 1)
	commitRepo(b, repo, map[string]string{"units/" + last + "/files.yaml": changed})
	hooked := time.Now()
	d.push(b, "bench-secret")
	waitFile(b, target, fmt.Sprintf("unit %s file 3 v1\n", last), 2*time.Minute)
	p.webhook = time.Since(hooked)
	p.rssMiB = peakRSS(b, d.cmd.Process.Pid)
	if p.first+p.webhook > drift {
		b.Fatalf("the first pass and the change took %s, past the drift interval %s: raise driftInterval", p.first+p.webhook, drift)
	}
	// Every unit once more, by drift correction: n reconciles more than
	// the first pass and the change made. Waited for by scraping
	// /metrics, as Prometheus would, every 5 s.
	deadline, done := time.Now().Add(drift+10*time.Minute), reconciles(b, d)+n
	for reconciles(b, d) < done {
		if time.Now().After(deadline) {
			b.Fatalf("%d units: no drift pass over every unit within %s", n, drift+10*time.Minute)
		}
		time.Sleep(5 * time.Second)
	}
	p.driftRSSMiB = peakRSS(b, d.cmd.Process.Pid)
	b.Logf("%d units: %d reconciles counted after the drift pass", n, reconciles(b, d))
	if err := d.stop(b); err != nil {
		b.Fatalf("steward run exited with %v:\n%s", err, tail(d.log.String(), 4000))
	}
	return p
}

// driftInterval is the drift interval of n units: past the first pass and
// the one-unit change on a loaded machine (about 4 ms a unit), so that drift
// correction does not run while they are timed.
func driftInterval(n int) time.Duration {
	return 30*time.Second + time.Duration(n)*6*time.Millisecond
}

// reconciles is how many unit reconciles the daemon has counted
// (steward_reconcile_duration_seconds_count, summed over targets).
func reconciles(b *testing.B, d *daemon) int {
	n := 0
	for _, line := range strings.Split(d.metrics(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "steward_reconcile_duration_seconds_count{"); ok {
			_, v, _ := strings.Cut(rest, "} ")
			c, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatalf("metrics: %q", line)
			}
			n += int(c)
		}
	}
	return n
}

// saveHeapProfile writes the daemon's heap profile after its first pass to
// $STEWARD_SCALE_PROFILE/heap-N.pprof when that variable names a directory:
// its alloc_space sample is every allocation of the first pass, its
// inuse_space the live heap at the last collection.
func saveHeapProfile(b *testing.B, d *daemon, n int) {
	dir := os.Getenv("STEWARD_SCALE_PROFILE")
	if dir == "" {
		return
	}
	resp, err := http.Get("http://" + d.addr + "/debug/pprof/heap")
	if err != nil {
		b.Fatalf("heap profile: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("heap profile: status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatalf("heap profile: %v", err)
	}
	path := filepath.Join(dir, fmt.Sprintf("heap-%d.pprof", n))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.Logf("heap profile after the first pass: %s", path)
}

// startQuiet is startDaemon polling only /readyz (every 50ms): fetching the
// whole /api/status that often would load a daemon of thousands of units
// and skew what is measured.
func startQuiet(tb testing.TB, bin, work string, env []string, args ...string) *daemon {
	tb.Helper()
	d := spawnDaemon(tb, bin, work, env, "warn", args...)
	deadline := time.Now().Add(20 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-d.done:
			tb.Fatalf("steward run exited (%v) before ready:\n%s", err, tail(d.log.String(), 4000))
		default:
		}
		if d.ready() {
			return d
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("steward run not ready after 20m:\n%s", tail(d.log.String(), 4000))
	return nil
}

// processCPU returns the CPU time (user and system) process pid has used.
func processCPU(tb testing.TB, pid int) time.Duration {
	tb.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// Fields after the command name (which may hold spaces): utime and
	// stime are the 12th and 13th, in clock ticks (100 a second on Linux).
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		tb.Fatalf("/proc/%d/stat: %v %v", pid, err1, err2)
	}
	return time.Duration(utime+stime) * (time.Second / 100)
}

// peakRSS returns the peak resident memory of process pid in MiB.
func peakRSS(tb testing.TB, pid int) float64 {
	tb.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				tb.Fatalf("VmHWM: %v", err)
			}
			return kb / 1024
		}
	}
	tb.Fatal("no VmHWM in /proc status")
	return 0
}

func countFiles(tb testing.TB, dir string) int {
	tb.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, e os.DirEntry, err error) error {
		if err == nil && e.Type().IsRegular() {
			n++
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
