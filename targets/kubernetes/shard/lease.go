package shard

import (
	"context"
	"slices"
	"strconv"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels of the Leases: LabelLease is "shard" or "member".
const (
	LabelLease = "steward.dev/lease"
	labelShard = "steward.dev/shard"
)

// tick is one round: list the Leases, renew this replica's, give back
// shards above the fair share, take free ones up to it.
func (m *Manager) tick(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, m.opts.RenewPeriod)
	defer cancel()
	now := m.opts.Now()
	m.requests.Add(1)
	list, err := m.leases().List(rctx, metav1.ListOptions{LabelSelector: LabelLease})
	if err != nil {
		if ctx.Err() == nil {
			m.opts.Logger.Warn("list shard leases", "error", err)
		}
		return // the watchdog stops applies if this goes on
	}
	// A change is dated when the list that shows it returned, not when it
	// was sent: a renewal that landed while the list was in flight is
	// then never dated before it was made, however slow the API server.
	seen := m.opts.Now()
	byName := map[string]*coordinationv1.Lease{}
	m.mu.Lock()
	m.nextExpiry = time.Time{}
	for i := range list.Items {
		l := &list.Items[i]
		byName[l.Name] = l
		if o, ok := m.observed[l.Name]; !ok || o.version != l.ResourceVersion {
			m.observed[l.Name] = observation{version: l.ResourceVersion, at: seen}
		}
		if h := holder(l); h != "" && h != m.opts.Identity {
			exp := m.observed[l.Name].at.Add(m.durationOf(l))
			if exp.After(seen) && (m.nextExpiry.IsZero() || exp.Before(m.nextExpiry)) {
				m.nextExpiry = exp
			}
		}
	}
	m.mu.Unlock()

	m.renewMember(rctx, byName[memberLease(m.opts.Identity)], now)
	m.forgetGone(rctx, list.Items, now)
	members := m.liveMembers(list.Items, now)
	rank := slices.Index(members, m.opts.Identity)
	share := FairShare(m.opts.Shards, len(members), rank)

	m.mu.Lock()
	m.members = members
	clear(m.owners)
	for k := range m.opts.Shards {
		if l := byName[ShardLease(k)]; l != nil && !m.expiredLocked(l, now) {
			m.owners[k] = holder(l)
		}
	}
	var mine []int
	for k := range m.held {
		mine = append(mine, k)
	}
	m.mu.Unlock()
	slices.Sort(mine)

	kept := 0
	for _, k := range mine {
		l := byName[ShardLease(k)]
		if l == nil || holder(l) != m.opts.Identity {
			m.lost(k, "taken by "+holderOf(l))
			continue
		}
		if m.finishRelease(rctx, k, l) {
			continue
		}
		m.renewShard(rctx, k, l, now)
		kept++
	}
	// Above the fair share: give back the highest shards first.
	for i := len(mine) - 1; i >= 0 && kept > share; i-- {
		if m.startRelease(mine[i]) {
			kept--
		}
	}
	acquired := false
	for j := range m.opts.Shards {
		if kept >= share {
			break
		}
		// Start at a rank-dependent shard so that replicas do not all
		// race for shard 0.
		k := (j + max(rank, 0)*m.opts.Shards/max(len(members), 1)) % m.opts.Shards
		m.mu.Lock()
		_, have := m.held[k]
		m.mu.Unlock()
		if have {
			continue
		}
		l := byName[ShardLease(k)]
		if l != nil && holder(l) != "" && !m.expired(l, now) {
			continue
		}
		if m.acquire(rctx, k, l, now) {
			kept++
			acquired = true
		}
	}
	if acquired {
		m.opts.OnAcquire()
	}
}

func holder(l *coordinationv1.Lease) string {
	if l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

func holderOf(l *coordinationv1.Lease) string {
	if l == nil {
		return "nobody (the Lease is gone)"
	}
	if h := holder(l); h != "" {
		return h
	}
	return "nobody"
}

// expired reports whether l went unchanged for its whole duration, on this
// replica's clock since it saw the change.
func (m *Manager) expired(l *coordinationv1.Lease, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.expiredLocked(l, now)
}

// expiredLocked is expired with m.mu held.
func (m *Manager) expiredLocked(l *coordinationv1.Lease, now time.Time) bool {
	if holder(l) == "" {
		return true
	}
	return now.Sub(m.observed[l.Name].at) >= m.durationOf(l)
}

// durationOf is how long l stays held without a change: what its holder
// wrote, else this replica's own duration.
func (m *Manager) durationOf(l *coordinationv1.Lease) time.Duration {
	if l.Spec.LeaseDurationSeconds != nil {
		return time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	return m.opts.LeaseDuration
}

// untilNextExpiry returns how long until another replica's Lease, as last
// listed, may expire, when that is sooner than the next round: the round
// then runs at that moment, and a dead replica's shards are free without
// waiting up to a whole renew period more.
func (m *Manager) untilNextExpiry() (time.Duration, bool) {
	m.mu.Lock()
	next := m.nextExpiry
	m.mu.Unlock()
	if next.IsZero() {
		return 0, false
	}
	d := next.Sub(m.opts.Now())
	return d + 10*time.Millisecond, d >= 0 && d < m.opts.RenewPeriod
}

// liveMembers returns the sorted identities of the replicas whose member
// Lease is current, this one included.
func (m *Manager) liveMembers(items []coordinationv1.Lease, now time.Time) []string {
	out := []string{m.opts.Identity}
	for i := range items {
		l := &items[i]
		if l.Labels[LabelLease] != "member" || holder(l) == m.opts.Identity || m.expired(l, now) {
			continue
		}
		out = append(out, holder(l))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// forgetGone deletes the member Leases of replicas gone for ten Lease
// durations (pods replaced by a rollout), at most one a round.
func (m *Manager) forgetGone(ctx context.Context, items []coordinationv1.Lease, now time.Time) {
	for i := range items {
		l := &items[i]
		if l.Labels[LabelLease] != "member" || holder(l) == m.opts.Identity {
			continue
		}
		m.mu.Lock()
		gone := now.Sub(m.observed[l.Name].at) > 10*m.opts.LeaseDuration
		m.mu.Unlock()
		if gone {
			m.requests.Add(1)
			pre := metav1.Preconditions{ResourceVersion: &l.ResourceVersion}
			_ = m.leases().Delete(ctx, l.Name, metav1.DeleteOptions{Preconditions: &pre})
			return
		}
	}
}

func (m *Manager) newLease(name, kind string, shard int) *coordinationv1.Lease {
	labels := map[string]string{LabelLease: kind, "app.kubernetes.io/part-of": "steward"}
	if kind == "shard" {
		labels[labelShard] = strconv.Itoa(shard)
	}
	return &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: m.opts.Namespace, Labels: labels}}
}

func (m *Manager) stamp(l *coordinationv1.Lease, now time.Time, taking bool) {
	id := m.opts.Identity
	secs := int32(m.opts.LeaseDuration / time.Second)
	t := metav1.NewMicroTime(now)
	if taking {
		l.Spec.AcquireTime = &t
		n := int32(0)
		if l.Spec.LeaseTransitions != nil {
			n = *l.Spec.LeaseTransitions + 1
		}
		l.Spec.LeaseTransitions = &n
	}
	l.Spec.HolderIdentity, l.Spec.LeaseDurationSeconds, l.Spec.RenewTime = &id, &secs, &t
}

func (m *Manager) renewMember(ctx context.Context, l *coordinationv1.Lease, now time.Time) {
	var err error
	m.requests.Add(1)
	if l == nil {
		l = m.newLease(memberLease(m.opts.Identity), "member", 0)
		m.stamp(l, now, true)
		_, err = m.leases().Create(ctx, l, metav1.CreateOptions{})
	} else {
		l = l.DeepCopy()
		m.stamp(l, now, false)
		_, err = m.leases().Update(ctx, l, metav1.UpdateOptions{})
	}
	if err != nil && ctx.Err() == nil {
		m.opts.Logger.Warn("renew member lease", "error", err)
	}
}

// renewShard renews the Lease of held shard k and moves its watchdog.
func (m *Manager) renewShard(ctx context.Context, k int, l *coordinationv1.Lease, start time.Time) {
	l = l.DeepCopy()
	m.stamp(l, start, false)
	m.requests.Add(1)
	if _, err := m.leases().Update(ctx, l, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsConflict(err) || apierrors.IsNotFound(err) {
			m.lost(k, "changed by another replica")
			return
		}
		m.opts.Logger.Warn("renew shard lease", "shard", k, "error", err)
		return
	}
	if m.holdShard(k, start) {
		m.opts.Logger.Info("shard lease renewed again: applies resume", "shard", k)
		m.opts.OnAcquire()
	}
}

// acquire takes shard k: creates its Lease or takes over a free or expired
// one. Losing the race to another replica is not an error.
func (m *Manager) acquire(ctx context.Context, k int, l *coordinationv1.Lease, start time.Time) bool {
	var err error
	m.requests.Add(1)
	prev := "nobody"
	if l == nil {
		l = m.newLease(ShardLease(k), "shard", k)
		m.stamp(l, start, true)
		_, err = m.leases().Create(ctx, l, metav1.CreateOptions{})
	} else {
		prev = holderOf(l)
		l = l.DeepCopy()
		m.stamp(l, start, true)
		_, err = m.leases().Update(ctx, l, metav1.UpdateOptions{})
	}
	if err != nil {
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			m.opts.Logger.Warn("take shard lease", "shard", k, "error", err)
		}
		return false
	}
	m.holdShard(k, start)
	m.opts.Logger.Info("shard taken", "shard", k, "from", prev)
	return true
}
