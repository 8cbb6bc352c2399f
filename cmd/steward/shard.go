package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/status"
	ktarget "github.com/stewardhq/steward/targets/kubernetes"
	"github.com/stewardhq/steward/targets/kubernetes/shard"
)

// shardFlags configure `steward run --shards N`: replicas in a cluster
// sharing one stack through Leases.
type shardFlags struct {
	shards        int
	namespace     string
	identity      string
	context       string
	leaseDuration time.Duration
	renewPeriod   time.Duration
	journal       string
}

func (f *shardFlags) register(fl *pflag.FlagSet) {
	def := shard.DefaultOptions()
	fl.IntVar(&f.shards, "shards", 0, "spread the units over N shards, each owned by one replica through a Lease (needs a cluster: --kubeconfig or in-cluster); 0: this replica reconciles every unit")
	fl.StringVar(&f.namespace, "shard-namespace", def.Namespace, "namespace of the shard Leases and the published unit states")
	fl.StringVar(&f.identity, "shard-identity", "", "this replica's name among the replicas (default $POD_NAME, else the host name and a random suffix)")
	fl.StringVar(&f.context, "shard-context", "", "kubeconfig context of the cluster holding the Leases (default the current one)")
	fl.DurationVar(&f.leaseDuration, "shard-lease-duration", def.LeaseDuration, "how long a shard stays owned without a renewal, in whole seconds: a dead replica's shards are taken over after it")
	fl.DurationVar(&f.renewPeriod, "shard-renew-period", def.RenewPeriod, "how often shard Leases are renewed and free ones taken")
	fl.StringVar(&f.journal, "shard-journal", "", "append a JSON line per apply (replica, unit, shard, start, end) to this file")
	_ = fl.MarkHidden("shard-journal")
}

// manager returns the shard manager the flags ask for, nil without
// --shards, and what to close when the daemon ends.
func (f *shardFlags) manager(tf *targetFlags, logger *slog.Logger, onAcquire func()) (*shard.Manager, io.Closer, error) {
	if f.shards == 0 {
		return nil, io.NopCloser(nil), nil
	}
	if f.shards < 0 {
		return nil, nil, usageError("--shards: want a positive number, found %d", f.shards)
	}
	cfg, err := ktarget.LoadConfig(tf.kubeconfig, f.context)
	if err != nil {
		return nil, nil, usageError("--shards needs a cluster for its Leases: %v", err)
	}
	cfg.QPS, cfg.Burst = tf.qps, tf.burst
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("shard client: %w", err)
	}
	opts := shard.DefaultOptions()
	opts.Client, opts.Namespace, opts.Shards = client, f.namespace, f.shards
	opts.LeaseDuration, opts.RenewPeriod = f.leaseDuration, f.renewPeriod
	opts.Identity, opts.Logger, opts.OnAcquire = f.identity, logger, onAcquire
	if opts.Identity == "" {
		opts.Identity = defaultIdentity()
	}
	var closer io.Closer = io.NopCloser(nil)
	if f.journal != "" {
		j, err := os.OpenFile(f.journal, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, nil, usageError("--shard-journal: %v", err)
		}
		opts.Journal, closer = j, j
	}
	m, err := shard.New(opts)
	if err != nil {
		closer.Close()
		return nil, nil, usageError("%v", err)
	}
	return m, closer, nil
}

func defaultIdentity() string {
	if p := os.Getenv("POD_NAME"); p != "" {
		return p
	}
	host, _ := os.Hostname()
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// runShards starts m beside the reconciler: the Lease loop, the published
// records, and the status of the units other replicas own. stop gives the
// shards back; call it after the reconciler stopped.
func runShards(ctx context.Context, m *shard.Manager, store *status.Store) (stop func(), err error) {
	if err := m.Start(ctx); err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); m.Run(lctx) }()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				showOwners(m, store)
			}
		}
	}()
	return func() { cancel(); <-done }, nil
}

// showOwners writes into the status which replica owns each unit and, for
// the units of other replicas, what they published.
func showOwners(m *shard.Manager, store *status.Store) {
	for _, u := range store.Snapshot().Units {
		owner := m.Owner(u.Name)
		rec, ok := m.Published(u.Name)
		store.Update(u.Name, func(s *status.UnitStatus) {
			s.Owner = owner
			if owner == m.Identity() || !ok {
				if owner == "" && !ok {
					s.State, s.Message = status.StatePending, "no replica owns its shard yet"
				}
				return
			}
			s.State, s.Ready, s.LastAttemptedRevision = rec.State, rec.Ready, rec.Revision
			s.Message = "reconciled by " + rec.Replica
			if rec.Message != "" {
				s.Message += ": " + rec.Message
			}
			if rec.Ready {
				s.Revision = rec.Revision
			}
			s.LastResult, s.LastError, s.NextRun = nil, "", time.Time{}
		})
	}
}

var _ reconcile.Ownership = (*shard.Manager)(nil)
