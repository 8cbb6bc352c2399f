package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/spf13/pflag"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/targets/kubernetes"
	"github.com/stewardhq/steward/targets/machine"
	"github.com/stewardhq/steward/targets/machine/local"
	"github.com/stewardhq/steward/targets/machine/ssh"
)

// targetFlags say where the credentials that stack targets name are: they
// are never read from the repository.
type targetFlags struct {
	kubeconfig     string
	credentialsDir string
	knownHosts     string
	qps            float32
	burst          int
}

func (f *targetFlags) register(fs *pflag.FlagSet) {
	home, _ := os.UserHomeDir()
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig for kubernetes targets (default $KUBECONFIG, else in-cluster); a target's credentials name a context in it")
	fs.StringVar(&f.credentialsDir, "credentials-dir", filepath.Join(home, ".config", "steward", "credentials"), "directory of the private keys machines targets name as credentials")
	fs.StringVar(&f.knownHosts, "known-hosts", filepath.Join(home, ".ssh", "known_hosts"), "known_hosts file host keys of machines targets are checked against")
	fs.Float32Var(&f.qps, "kube-qps", 50, "Kubernetes client queries per second")
	fs.IntVar(&f.burst, "kube-burst", 100, "Kubernetes client burst")
}

// resolver returns the reconciler's TargetResolver. Kubernetes clients are
// made once per context and shared by the targets that use it.
func (f *targetFlags) resolver(base string, logger *slog.Logger) reconcile.TargetResolver {
	var mu sync.Mutex
	kube := map[string]*kubernetes.Target{}
	return func(_ context.Context, name string, spec reconcile.TargetSpec) (reconcile.Target, error) {
		switch {
		case spec.Local != nil:
			root := spec.Local.Root
			if !filepath.IsAbs(root) {
				root = filepath.Join(base, root)
			}
			return local.NewTarget(name, root, logger.With("target", name)), nil
		case spec.Machines != nil:
			m := spec.Machines
			cfg := machine.DefaultConfig(m.Hosts...)
			cfg.Name, cfg.Logger = name, logger.With("target", name)
			if m.Root != "" {
				cfg.Root = m.Root
			}
			if m.Rollout != nil {
				cfg.Rollout = *m.Rollout
			}
			if m.Parallel > 0 {
				cfg.Parallel = m.Parallel
			}
			sc := ssh.DefaultConfig()
			if m.User != "" {
				sc.User = m.User
			}
			sc.KeyFile = m.Credentials
			sc.Sudo = m.Sudo
			sc.PinnedFingerprints = m.HostKeys
			// One connection per host for the life of the process: a host's
			// plan and apply share it, and the transport redials when it drops.
			pool := ssh.NewPool(ssh.Dialer(sc, f.credentialsDir, f.knownHosts))
			cfg.Connections = pool
			return machine.New(cfg, pool.Dial), nil
		case spec.Kubernetes != nil:
			k := spec.Kubernetes
			mu.Lock()
			defer mu.Unlock()
			key := k.Credentials + "\x00" + k.Namespace + "\x00" + name
			if t, ok := kube[key]; ok {
				return t, nil
			}
			rc, err := kubernetes.LoadConfig(f.kubeconfig, k.Credentials)
			if err != nil {
				return nil, err
			}
			opts := kubernetes.DefaultOptions()
			opts.Name, opts.QPS, opts.Burst, opts.Logger = name, f.qps, f.burst, logger.With("target", name)
			if k.Namespace != "" {
				opts.Namespace = k.Namespace
			}
			t, err := kubernetes.New(rc, opts)
			if err != nil {
				return nil, err
			}
			kube[key] = t
			return t, nil
		}
		return nil, fmt.Errorf("target %s sets no kind", name)
	}
}
