package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/images"
	"github.com/stewardhq/steward/reconcile/metrics"
	"github.com/stewardhq/steward/reconcile/notify"
	"github.com/stewardhq/steward/reconcile/status"
	"github.com/stewardhq/steward/reconcile/writeback"
	"github.com/stewardhq/steward/sources/git"
	"github.com/stewardhq/steward/sources/packages"
)

// defaultImageInterval is how often steward run scans without
// images.interval or images.schedule.
const defaultImageInterval = 5 * time.Minute

// imageAutomation is steward run's image loop: it scans on the applied
// stack's images.interval or images.schedule, pushes each write-back, and
// triggers the reconciler when the tracked branch moved, so the change is
// applied through the normal loop.
type imageAutomation struct {
	w        *workspace
	g        *globalFlags
	sf       *sourceFlags
	flags    imageFlags
	r        *reconcile.Reconciler
	store    *status.Store
	rec      *metrics.ImageRecorder
	notifier *notify.Dispatcher // nil without --notify-webhook
	log      *slog.Logger

	src *git.Source // the write-back clone, opened at the first pass
	dir string
}

// startImageAutomation runs the image loop until ctx ends. Its metrics
// join reg; commits and pull requests are posted to --notify-webhook.
func startImageAutomation(ctx context.Context, w *workspace, g *globalFlags, sf *sourceFlags, tf *targetFlags, f *runFlags, r *reconcile.Reconciler, store *status.Store, reg prometheus.Registerer) error {
	a := &imageAutomation{w: w, g: g, sf: sf, flags: f.images, r: r, store: store, log: w.logger.With("component", "images")}
	a.flags.signingDir = tf.credentialsDir
	a.rec = metrics.NewImageRecorder(metrics.DefaultOptions())
	if err := a.rec.Register(reg); err != nil {
		return err
	}
	if f.notifyURL != "" {
		n, err := f.notifiers(&g.secrets)
		if err != nil {
			return err
		}
		o := notify.DefaultDispatcherOptions()
		o.Logger = w.logger
		a.notifier = notify.NewDispatcher(o, n[0]) // the webhook: commit statuses are per unit
	}
	go a.run(ctx)
	return nil
}

func (a *imageAutomation) run(ctx context.Context) {
	defer func() {
		if a.src != nil {
			a.src.Close()
		}
		if a.notifier != nil {
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = a.notifier.Close(c)
		}
	}()
	var last time.Time
	for {
		_, stack := a.r.Current()
		if !a.due(stack) {
			if !sleep(ctx, time.Second) {
				return
			}
			continue
		}
		next, err := nextScan(imagesOf(stack), last)
		if err != nil {
			a.log.Error("images schedule", "error", err)
			next = last.Add(defaultImageInterval)
		}
		if wait := time.Until(next); wait > 0 {
			// Re-read the stack at least every second: it may change.
			if !sleep(ctx, min(wait, time.Second)) {
				return
			}
			continue
		}
		last = time.Now()
		a.pass(ctx, stack, last)
		if ctx.Err() != nil {
			return
		}
	}
}

// due reports whether the loop has work in stack: image policies, or
// package units whose lock it proposes to refresh.
func (a *imageAutomation) due(stack *reconcile.Stack) bool {
	if stack == nil {
		return false
	}
	return len(imagesOf(stack).Policies) > 0 || (a.flags.proposePackages && packages.HasPackageUnits(stack))
}

// imagesOf is the stack's images section, empty when it has none.
func imagesOf(stack *reconcile.Stack) *reconcile.Images {
	if stack.Images == nil {
		return &reconcile.Images{}
	}
	return stack.Images
}

// nextScan is when the scan after last is due (at once for the first).
func nextScan(im *reconcile.Images, last time.Time) (time.Time, error) {
	if last.IsZero() {
		return time.Now(), nil
	}
	if im.Schedule != "" {
		s, err := cron.ParseStandard(im.Schedule)
		if err != nil {
			return time.Time{}, err
		}
		return s.Next(last), nil
	}
	return last.Add(im.Interval.Or(defaultImageInterval)), nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// pass is one scan and write-back; what it found goes to the status,
// the metrics, the log and the notifier.
func (a *imageAutomation) pass(ctx context.Context, stack *reconcile.Stack, at time.Time) {
	st := status.ImagesStatus{LastScan: at}
	if next, err := nextScan(imagesOf(stack), at); err == nil {
		st.NextScan = next
	}
	defer func() { a.store.SetImages(st) }()
	client, err := a.flags.registryClient(stack, a.log)
	if err != nil {
		st.Error = err.Error()
		return
	}
	choices := images.Scan(ctx, client.Scan(), imagesOf(stack).Policies, images.DefaultOptions())
	byPolicy := map[string]int{}
	for _, c := range choices {
		ps := status.ImagePolicyStatus{Name: c.Policy, Image: c.Image, Tag: c.Tag, LastScan: at}
		switch {
		case c.Err == nil:
			a.rec.RecordScan(c.Policy, "chosen", c.Tag)
		case errors.Is(c.Err, images.ErrNoMatch):
			a.rec.RecordScan(c.Policy, "no-match", "")
			ps.Error = c.Err.Error()
		default:
			a.rec.RecordScan(c.Policy, "error", "")
			ps.Error = c.Err.Error()
			a.log.Warn("image scan failed", "policy", c.Policy, "error", c.Err)
		}
		byPolicy[c.Policy] = len(st.Policies)
		st.Policies = append(st.Policies, ps)
	}
	res, err := a.writeBack(ctx, stack, choices)
	if res != nil {
		for _, o := range res.Outcomes {
			if i, ok := byPolicy[o.Policy]; ok && o.Err != nil {
				st.Policies[i].Error = fmt.Sprintf("%s not committed: %v", o.Detail, o.Err)
			}
			if o.Err != nil {
				a.log.Warn("image update not committed", "policy", o.Policy, "tag", o.Detail, "error", o.Err)
			}
			for _, c := range o.Skipped {
				a.log.Warn("image update skipped", "policy", o.Policy, "file", c.File, "reason", c.Skipped)
			}
		}
	}
	if err != nil {
		st.Error = err.Error()
		a.rec.RecordWriteBack("failed")
		a.log.Error("image write-back failed", "error", err)
		return
	}
	if res.Commit == "" {
		a.rec.RecordWriteBack("nothing")
		return
	}
	a.rec.RecordWriteBack("committed")
	st.LastCommit, st.Branch = res.Commit, res.Branch
	units := strings.Join(touchedUnits(res), ",")
	a.log.Info("image update pushed", "revision", res.Commit, "branch", res.Branch, "units", units)
	a.notify(ctx, notify.Event{Kind: notify.ImageCommit, Unit: units, Revision: res.Commit, Time: time.Now()})
	if pr := res.PullRequest; pr != nil {
		st.PullRequest = pr.URL
		a.notify(ctx, notify.Event{Kind: notify.ImagePullRequest, Unit: units, Revision: res.Commit, Time: time.Now()})
	} else {
		a.r.Trigger() // the tracked branch moved: apply it now
	}
}

func (a *imageAutomation) notify(ctx context.Context, ev notify.Event) {
	if a.notifier != nil {
		_ = a.notifier.Notify(ctx, ev)
	}
}

// writeBack pushes what the choices ask for through the one write-back
// path.
func (a *imageAutomation) writeBack(ctx context.Context, stack *reconcile.Stack, choices []images.Choice) (*writeback.Result, error) {
	props := images.Proposals(choices, runUpdater)
	if a.flags.proposePackages && packages.HasPackageUnits(stack) {
		props = append(props, a.w.packages.LockProposal())
	}
	if len(props) == 0 {
		return &writeback.Result{}, nil
	}
	if a.src == nil {
		src, dir, err := pushSource(ctx, a.w, a.sf, a.g)
		if err != nil {
			return nil, err
		}
		a.src, a.dir = src, dir
	}
	branch, err := trackedBranch(ctx, a.src, a.sf.branch)
	if err != nil {
		return nil, err
	}
	opts, signer, err := a.flags.writebackOptions(stack, branch, a.w.stages(), &a.g.secrets, a.log)
	if err != nil {
		return nil, err
	}
	return writeback.Push(ctx, &git.Remote{Source: a.src, Signer: signer, Dir: a.dir}, props, opts)
}

func touchedUnits(res *writeback.Result) []string {
	var out []string
	for _, c := range res.Changes() {
		for _, u := range strings.Split(c.Unit, ",") {
			if u != "" && !slices.Contains(out, u) {
				out = append(out, u)
			}
		}
	}
	return out
}
