package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/stewardhq/steward/targets/kubernetes/shard"
)

// shardRig runs replicas of the real `steward run --shards` binary against
// the testenv kube-apiserver, all following one repository of units on one
// local target. Every replica writes an apply journal.
type shardRig struct {
	t        testing.TB
	bin      string
	repo     string
	ns       string
	kube     string // admin kubeconfig
	client   kubernetes.Interface
	shards   int
	units    []string
	dir      string
	replicas map[string]*daemon
	extra    []string // flags of every replica
}

// shardStack is n units on one local target; units 10 to 29 depend on the
// unit ten before, which rendezvous hashing mostly puts on another shard.
func shardStack(n int, out string) map[string]string {
	var b strings.Builder
	b.WriteString("apiVersion: steward.dev/v1\nkind: Stack\ntargets:\n  here: {local: {root: " + out + "}}\nunits:\n")
	files := map[string]string{}
	for i := range n {
		name := fmt.Sprintf("u%02d", i)
		dep := ""
		if i >= 10 && i < 30 {
			dep = fmt.Sprintf(", dependsOn: [u%02d]", i-10)
		}
		fmt.Fprintf(&b, "  - {name: %s, path: %s, generator: {yaml: {}}, target: here%s}\n", name, name, dep)
		files[name+"/f.yaml"] = "apiVersion: machine.steward.dev/v1\nkind: File\nmetadata: {name: " + name + "}\nspec: {path: /" + name + ".txt, content: " + name + "}\n"
	}
	files["steward.yaml"] = b.String()
	return files
}

func newShardRig(tb testing.TB, units, shards int, extra ...string) *shardRig {
	tb.Helper()
	env := kubeEnv.Get(tb)
	r := &shardRig{t: tb, bin: buildSteward(tb), repo: tb.TempDir(), dir: tb.TempDir(), kube: env.Kubeconfig,
		shards: shards, replicas: map[string]*daemon{}, extra: extra}
	ns := env.Namespace(tb)
	r.ns = ns
	c, err := kubernetes.NewForConfig(env.Config)
	must(tb, err)
	r.client = c
	initRepo(tb, r.repo, shardStack(units, filepath.Join(r.dir, "out")))
	for i := range units {
		r.units = append(r.units, fmt.Sprintf("u%02d", i))
	}
	return r
}

// start starts replica id; kubeconfig "" means the rig's own.
func (r *shardRig) start(id, kubeconfig string) *daemon {
	r.t.Helper()
	if kubeconfig == "" {
		kubeconfig = r.kube
	}
	work := filepath.Join(r.dir, id)
	must(r.t, os.MkdirAll(work, 0o755))
	args := append([]string{"run", "-C", r.repo, "--shards", fmt.Sprint(r.shards), "--shard-namespace", r.ns,
		"--kubeconfig", kubeconfig, "--shard-identity", id, "--shard-journal", r.journalPath(id),
		"--interval", "2s", "--poll-interval", "1h"}, r.extra...)
	d := startDaemon(r.t, r.bin, work, nil, args...)
	r.replicas[id] = d
	return d
}

func (r *shardRig) journalPath(id string) string { return filepath.Join(r.dir, id+".journal") }

// apply is one journal line: replica held unit's shard for an apply from
// start to end.
type apply struct {
	Replica, Unit string
	Shard         int
	Start, End    time.Time
}

// journal reads every replica's journal; a killed replica may have left
// half a line, which is skipped.
func (r *shardRig) journal() []apply {
	r.t.Helper()
	var out []apply
	for id := range r.replicas {
		f, err := os.Open(r.journalPath(id))
		if os.IsNotExist(err) {
			continue
		}
		must(r.t, err)
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var a apply
			if json.Unmarshal(sc.Bytes(), &a) == nil {
				out = append(out, a)
			}
		}
		f.Close()
	}
	slices.SortFunc(out, func(a, b apply) int { return a.Start.Compare(b.Start) })
	return out
}

// overlaps returns the applies of one unit by two replicas at once.
func overlaps(js []apply) []string {
	var bad []string
	last := map[string]apply{} // unit -> the apply ending last so far
	for _, a := range js {
		if p, ok := last[a.Unit]; ok && p.Replica != a.Replica && a.Start.Before(p.End) {
			bad = append(bad, fmt.Sprintf("%s: %s %s–%s and %s %s–%s", a.Unit, p.Replica, p.Start.Format(time.StampMilli),
				p.End.Format(time.StampMilli), a.Replica, a.Start.Format(time.StampMilli), a.End.Format(time.StampMilli)))
		}
		if p, ok := last[a.Unit]; !ok || a.End.After(p.End) {
			last[a.Unit] = a
		}
	}
	return bad
}

// holders returns the holder of every shard Lease ("" when free).
func (r *shardRig) holders() []string {
	r.t.Helper()
	out := make([]string, r.shards)
	for k := range r.shards {
		l, err := r.client.CoordinationV1().Leases(r.ns).Get(context.Background(), shard.ShardLease(k), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		must(r.t, err)
		if l.Spec.HolderIdentity != nil {
			out[k] = *l.Spec.HolderIdentity
		}
	}
	return out
}

// count returns how many shards each replica holds.
func count(holders []string) map[string]int {
	n := map[string]int{}
	for _, h := range holders {
		n[h]++
	}
	return n
}

// waitUntil polls cond every 100ms for up to timeout and fails with what
// describes the state otherwise.
func (r *shardRig) waitUntil(what string, timeout time.Duration, cond func() (bool, string)) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	state := ""
	for time.Now().Before(deadline) {
		var ok bool
		if ok, state = cond(); ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	var logs strings.Builder
	for id, d := range r.replicas {
		fmt.Fprintf(&logs, "--- %s\n%s\n", id, tailLines(d.log.String(), 40))
	}
	r.t.Fatalf("timed out after %s waiting for %s: %s\n%s", timeout, what, state, logs.String())
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// proxy forwards TCP to the API server until cut, after which it accepts
// connections and never answers them: a replica behind it is partitioned
// from the API server without knowing.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func newProxy(tb testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(tb, err)
	p := &proxy{ln: ln, target: target}
	go p.serve()
	tb.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
	})
	return p
}

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.conns = append(p.conns, c)
		cut := p.cut
		p.mu.Unlock()
		if cut {
			continue // held open, never answered
		}
		go func() {
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			_, _ = io.Copy(c, up)
			c.Close()
		}()
	}
}

// partition cuts every forwarded connection and black-holes new ones.
func (p *proxy) partition() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// kubeconfigVia writes a copy of kubeconfig whose server is the proxy.
func kubeconfigVia(tb testing.TB, kubeconfig string, p *proxy) string {
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	must(tb, err)
	for _, c := range cfg.Clusters {
		c.Server = "https://" + p.ln.Addr().String()
	}
	path := filepath.Join(tb.TempDir(), "kubeconfig")
	must(tb, clientcmd.WriteToFile(*cfg, path))
	return path
}

// apiHost returns host:port of the server in kubeconfig.
func apiHost(tb testing.TB, kubeconfig string) string {
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	must(tb, err)
	for _, c := range cfg.Clusters {
		return strings.TrimPrefix(c.Server, "https://")
	}
	tb.Fatal("kubeconfig without a cluster")
	return ""
}
