package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/metrics"
	"github.com/stewardhq/steward/reconcile/notify"
	"github.com/stewardhq/steward/reconcile/status"
	"github.com/stewardhq/steward/sources/webhook"
)

type runFlags struct {
	listen        string
	pollInterval  time.Duration
	interval      time.Duration
	concurrency   int
	notifyURL     string
	commitStatus  string // github, gitlab or gitea
	statusAPI     string
	statusRepo    string
	statusPage    string
	shutdownGrace time.Duration
	pprof         bool
	http          httpLimits
	diffs         reconcile.DiffLimits
	images        imageFlags
	statusPublic  bool
	shard         shardFlags
}

// httpLimits bound what one client of the HTTP port can hold.
type httpLimits struct {
	readTimeout, idleTimeout time.Duration
	hookInFlight             int
	hookBodyTimeout          time.Duration
}

// newHTTPServer returns the daemon's HTTP server: headers within 10s, a
// whole request within readTimeout, idle keep-alive connections closed
// after idleTimeout.
func newHTTPServer(h http.Handler, l httpLimits) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: l.readTimeout, IdleTimeout: l.idleTimeout}
}

func newRunCommand(g *globalFlags) *cobra.Command {
	f, tf, sf := &runFlags{}, &targetFlags{}, &sourceFlags{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "The daemon: poll and webhooks, apply in dependency order, correct drift, serve status",
		Long: `Follow the repository and keep every unit applied. One HTTP port serves /metrics, /healthz,
/readyz, /api/status, a status page at /, webhook receivers at /hooks/{github,gitlab,gitea,generic}, and
POST /api/units/UNIT/{suspend,resume,sync}.

Secrets come from files (--webhook-secret-file, --api-token-file, ...) or the environment, never from
flag values: STEWARD_WEBHOOK_SECRET (webhooks), STEWARD_API_TOKEN (the POST API; without it only loopback
clients may use it), STEWARD_STATUS_TOKEN (the status page and GET /api/status; defaults to
STEWARD_API_TOKEN; without either only loopback clients may read them), STEWARD_NOTIFY_SECRET (signs
notifications), STEWARD_GIT_TOKEN or STEWARD_GIT_USERNAME/STEWARD_GIT_PASSWORD (HTTPS repositories). They
are read once at start-up and removed from the environment, and the process is made non-dumpable, so
repository code cannot read them.
SIGTERM stops scheduling, lets units being applied finish, and exits 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDaemon(cmd, g, f, tf, sf)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address of the HTTP port")
	fl.DurationVar(&f.pollInterval, "poll-interval", time.Minute, "how often the repository is polled without a webhook")
	fl.DurationVar(&f.interval, "interval", 10*time.Minute, "re-apply every unit this often to correct drift (a unit's interval: wins)")
	fl.IntVar(&f.concurrency, "concurrency", 4, "units applied at once")
	fl.StringVar(&f.notifyURL, "notify-webhook", "", "URL that receives a JSON POST for every unit applied, failed or drift-corrected")
	fl.StringVar(&f.commitStatus, "commit-status", "", "post a commit status per unit to github, gitlab or gitea (token: STEWARD_COMMIT_STATUS_TOKEN)")
	fl.StringVar(&f.statusAPI, "commit-status-api", "", "API root of the forge (default: GitHub's or GitLab's public API; required for gitea)")
	fl.StringVar(&f.statusRepo, "commit-status-repo", "", "repository the statuses go to: owner/name, or a GitLab project id or path")
	fl.StringVar(&f.statusPage, "status-url", "", "public URL of this steward's status page, linked from commit statuses")
	fl.DurationVar(&f.shutdownGrace, "shutdown-grace", 2*time.Minute, "after SIGTERM, how long units being applied may take")
	fl.BoolVar(&f.pprof, "pprof", false, "serve Go profiles at /debug/pprof/ (behind STEWARD_API_TOKEN, or loopback clients only without one)")
	dl := reconcile.DefaultDiffLimits()
	fl.IntVar(&f.diffs.PerObject, "status-diff-bytes", dl.PerObject, "cut each object's diff in status and notifications to this size")
	fl.IntVar(&f.diffs.PerUnit, "status-unit-diff-bytes", dl.PerUnit, "cut a unit's diffs in status and notifications to this size together")
	hook := webhook.DefaultOptions()
	fl.DurationVar(&f.http.readTimeout, "http-read-timeout", 30*time.Second, "longest an HTTP request (headers and body) may take to arrive")
	fl.DurationVar(&f.http.idleTimeout, "http-idle-timeout", 2*time.Minute, "close idle keep-alive connections after this")
	fl.IntVar(&f.http.hookInFlight, "webhook-max-in-flight", hook.MaxInFlight, "webhook requests served at once; more get 503 before their body is read")
	fl.DurationVar(&f.http.hookBodyTimeout, "webhook-body-timeout", hook.BodyTimeout, "longest a webhook body may take to arrive (408 after)")
	fl.BoolVar(&f.statusPublic, "status-public", false, "without a status token, serve the status page to every client instead of loopback ones only")
	f.shard.register(fl)
	tf.register(fl)
	sf.register(fl)
	f.images.register(fl, false)
	fl.BoolVar(&f.images.proposePackages, "propose-package-updates", false, "on the image automation's schedule, resolve package units afresh and commit steward.lock changes (or open a pull request) through the image write-back")
	return cmd
}

func runDaemon(cmd *cobra.Command, g *globalFlags, f *runFlags, tf *targetFlags, sf *sourceFlags) error {
	w, err := g.workspace()
	if err != nil {
		return err
	}
	statusTok := statusToken(&g.secrets)
	rec, registry, err := metrics.NewRegistry()
	if err != nil {
		return err
	}
	store := status.NewStore()
	notifiers, err := f.notifiers(&g.secrets)
	if err != nil {
		return err
	}
	var dispatcher *notify.Dispatcher
	if len(notifiers) > 0 {
		do := notify.DefaultDispatcherOptions()
		do.Logger = w.logger
		dispatcher = notify.NewDispatcher(do, notifiers...)
	}
	source := sourceName(sf, w.root)
	var notifier reconcile.Observer
	if dispatcher != nil {
		notifier = dispatcher
	}
	opts := reconcile.DefaultReconcilerOptions()
	opts.Observer = reconcile.Observers(status.NewObserver(store, source), rec, notifier)
	opts.PollInterval, opts.Interval, opts.Concurrency = f.pollInterval, f.interval, f.concurrency
	opts.Diffs = f.diffs
	var r *reconcile.Reconciler
	shards, shardCloser, err := f.shard.manager(tf, w.logger, func() { r.Trigger() })
	if err != nil {
		return err
	}
	defer shardCloser.Close()
	if shards != nil {
		opts.Ownership, opts.Observer = shards, reconcile.Observers(opts.Observer, shards)
	}
	r, err = newReconciler(w, g, sf, tf, opts)
	if err != nil {
		return err
	}
	defer r.Close()

	mux := http.NewServeMux()
	mux.Handle("/", statusAuth(status.Handler(store), statusTok, f.statusPublic))
	mux.Handle("GET /metrics", promhttp.HandlerFor(registry, promhttp.HandlerOpts{}))
	wh := webhook.DefaultOptions()
	wh.Secret = []byte(g.secrets.get("STEWARD_WEBHOOK_SECRET"))
	wh.Logger = w.logger
	wh.MaxInFlight, wh.BodyTimeout = f.http.hookInFlight, f.http.hookBodyTimeout
	wh.OnPush = func(context.Context, webhook.Push) { r.Trigger() }
	mux.Handle("/hooks/", webhook.New(wh))
	mux.Handle("POST /api/units/{unit}/{action}", status.UnitAPI(r, g.secrets.get("STEWARD_API_TOKEN")))
	mux.Handle("POST /api/releases/{unit}/{action}", status.ReleaseAPI(r, g.secrets.get("STEWARD_API_TOKEN")))
	if f.pprof {
		mux.Handle("/debug/pprof/", pprofHandler(g.secrets.get("STEWARD_API_TOKEN")))
	}

	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := newHTTPServer(mux, f.http)
	go func() { _ = srv.Serve(ln) }()
	w.logger.Info("steward running", "listen", ln.Addr().String(), "source", source)
	fmt.Fprintf(cmd.ErrOrStderr(), "steward: serving http://%s/ (status), /metrics, /hooks/\n", ln.Addr())

	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	stopShards := func() {}
	if shards != nil {
		if stopShards, err = runShards(ctx, shards, store); err != nil {
			return err
		}
	}
	done := make(chan error, 1)
	if err := startImageAutomation(ctx, w, g, sf, tf, f, r, store, registry); err != nil {
		return err
	}
	go func() { done <- r.Run(ctx) }()
	var runErr error
	select {
	case runErr = <-done:
	case <-ctx.Done():
		store.MarkDraining()
		w.logger.Info("stopping: letting units being applied finish", "grace", f.shutdownGrace)
		select {
		case runErr = <-done:
		case <-time.After(f.shutdownGrace):
			runErr = errors.New("shutdown grace period over with units still applying")
		}
	}
	stopShards() // after the reconciler: no apply holds a shard any more
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	if dispatcher != nil {
		_ = dispatcher.Close(shutdownCtx)
	}
	return runErr
}

// notifiers builds the notifiers the flags ask for; secrets come from the
// environment.
func (f *runFlags) notifiers(sec *secrets) ([]notify.Notifier, error) {
	var out []notify.Notifier
	if f.notifyURL != "" {
		wo := notify.DefaultWebhookOptions()
		wo.URL, wo.Secret = f.notifyURL, []byte(sec.get("STEWARD_NOTIFY_SECRET"))
		hook, err := notify.NewWebhook(wo)
		if err != nil {
			return nil, usageError("--notify-webhook: %v", err)
		}
		out = append(out, hook)
	}
	if f.commitStatus == "" {
		return out, nil
	}
	co := notify.DefaultCommitStatusOptions()
	co.Repo, co.Token, co.TargetURL = f.statusRepo, sec.get("STEWARD_COMMIT_STATUS_TOKEN"), f.statusPage
	if f.statusAPI != "" {
		co.BaseURL = f.statusAPI
	}
	var n notify.Notifier
	var err error
	switch f.commitStatus {
	case "github":
		n, err = notify.NewGitHub(co)
	case "gitlab":
		n, err = notify.NewGitLab(co)
	case "gitea":
		n, err = notify.NewGitea(co)
	default:
		return nil, usageError("--commit-status: want github, gitlab or gitea, found %q", f.commitStatus)
	}
	if err != nil {
		return nil, usageError("--commit-status: %v", err)
	}
	return append(out, n), nil
}

func sourceName(sf *sourceFlags, root string) string {
	if sf.repo != "" {
		return reconcile.Redact(sf.repo)
	}
	return root
}
