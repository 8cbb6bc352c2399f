package shard

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
)

func (m *Manager) leases() coordinationclient.LeaseInterface {
	return m.opts.Client.CoordinationV1().Leases(m.opts.Namespace)
}

// holdShard records a successful take or renewal of shard k that started
// at start: the Lease is this replica's until start+duration, and the
// watchdog stops its applies Margin before that unless renewed again. It
// reports whether applies may start again where they could not: a new
// shard, or one whose Lease had lapsed.
func (m *Manager) holdShard(k int, start time.Time) bool {
	until := start.Add(m.opts.LeaseDuration)
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.held[k]
	if h == nil {
		h = &holding{}
		m.held[k] = h
	}
	regained := h.ctx == nil || (h.ctx.Err() != nil && !h.releasing)
	if regained {
		h.ctx, h.cancel = context.WithCancel(context.Background())
	}
	h.until = until
	if h.timer != nil {
		h.timer.Stop()
	}
	h.timer = time.AfterFunc(until.Add(-m.opts.Margin).Sub(m.opts.Now()), func() { m.lapse(k, until) })
	return regained
}

// lapse runs when shard k's Lease reached its margin: unless it was renewed
// since (until moved), applies under it are cancelled and none starts
// until a renewal succeeds.
func (m *Manager) lapse(k int, until time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.held[k]
	if h == nil || !h.until.Equal(until) {
		return
	}
	h.cancel()
	m.opts.Logger.Warn("shard lease not renewed in time: applies stopped", "shard", k, "expires", until)
}

// lost forgets shard k: another replica holds it now.
func (m *Manager) lost(k int, why string) {
	m.mu.Lock()
	h := m.held[k]
	delete(m.held, k)
	m.mu.Unlock()
	if h == nil {
		return
	}
	h.cancel()
	h.timer.Stop()
	m.opts.Logger.Warn("shard lost", "shard", k, "reason", why)
}

// startRelease begins giving shard k back: no new holds, the ones in
// flight are cancelled; finishRelease frees the Lease once they ended.
func (m *Manager) startRelease(k int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.held[k]
	if h == nil || h.releasing {
		return false
	}
	h.releasing = true
	h.cancel()
	m.opts.Logger.Info("giving back shard above the fair share", "shard", k)
	return true
}

// finishRelease frees the Lease of shard k when it is being given back and
// no apply holds it any more; it reports whether k is being given back.
func (m *Manager) finishRelease(ctx context.Context, k int, l *coordinationv1.Lease) bool {
	m.mu.Lock()
	h := m.held[k]
	releasing, busy := h != nil && h.releasing, h != nil && h.holds > 0
	m.mu.Unlock()
	if !releasing {
		return false
	}
	if busy {
		m.renewShard(ctx, k, l, m.opts.Now()) // keep it until the applies ended
		return true
	}
	free := l.DeepCopy()
	free.Spec.HolderIdentity = nil
	m.requests.Add(1)
	if _, err := m.leases().Update(ctx, free, metav1.UpdateOptions{}); err != nil && ctx.Err() == nil {
		m.opts.Logger.Warn("give back shard lease", "shard", k, "error", err)
		return true
	}
	m.lost(k, "given back")
	return true
}

// releaseAll gives back every shard on shutdown, after the reconciler
// stopped: the next replica need not wait for the Leases to expire.
func (m *Manager) releaseAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m.mu.Lock()
	var ks []int
	for k, h := range m.held {
		h.releasing = true
		h.cancel()
		ks = append(ks, k)
	}
	m.mu.Unlock()
	for _, k := range ks {
		m.requests.Add(1)
		l, err := m.leases().Get(ctx, ShardLease(k), metav1.GetOptions{})
		if err != nil || holder(l) != m.opts.Identity {
			continue
		}
		l.Spec.HolderIdentity = nil
		m.requests.Add(1)
		_, _ = m.leases().Update(ctx, l, metav1.UpdateOptions{})
		m.lost(k, "shutting down")
	}
	m.requests.Add(1)
	_ = m.leases().Delete(ctx, memberLease(m.opts.Identity), metav1.DeleteOptions{})
}
