package shard

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/stewardhq/steward/reconcile"
)

// LabelUnitStatus marks the ConfigMaps that carry a unit's published
// state.
const LabelUnitStatus = "steward.dev/unit-status"

// Record is what the replica owning a unit publishes about it.
type Record struct {
	Unit     string
	Revision string // the revision last reconciled
	State    string // a reconcile.UnitState
	Ready    bool   // applied and ready at Revision
	Replica  string // who reconciled it
	Message  string
	Updated  time.Time

	version string // the ConfigMap's resourceVersion, as the watch saw it
}

func (r Record) same(o Record) bool {
	return r.Unit == o.Unit && r.Revision == o.Revision && r.State == o.State && r.Ready == o.Ready &&
		r.Replica == o.Replica && r.Message == o.Message
}

// RecordName is the name of unit's ConfigMap: a hash, so that any unit name
// makes a valid object name.
func RecordName(unit string) string {
	h := fnv.New64a()
	_, _ = h.Write([]byte(unit))
	return fmt.Sprintf("steward-unit-%016x", h.Sum64())
}

func (r Record) configMap(ns string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: RecordName(r.Unit), Namespace: ns,
			Labels: map[string]string{LabelUnitStatus: "true", "app.kubernetes.io/part-of": "steward"}},
		Data: map[string]string{"unit": r.Unit, "revision": r.Revision, "state": r.State,
			"ready": fmt.Sprint(r.Ready), "replica": r.Replica, "message": r.Message,
			"updated": r.Updated.UTC().Format(time.RFC3339Nano)},
	}
}

func recordOf(cm *corev1.ConfigMap) (Record, bool) {
	d := cm.Data
	if d["unit"] == "" || RecordName(d["unit"]) != cm.Name {
		return Record{}, false
	}
	t, _ := time.Parse(time.RFC3339Nano, d["updated"])
	return Record{Unit: d["unit"], Revision: d["revision"], State: d["state"], Ready: d["ready"] == "true",
		Replica: d["replica"], Message: d["message"], Updated: t, version: cm.ResourceVersion}, true
}

// watch starts following the unit records of every replica.
func (m *Manager) watch(ctx context.Context) error {
	f := informers.NewSharedInformerFactoryWithOptions(m.opts.Client, 0, informers.WithNamespace(m.opts.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = LabelUnitStatus }))
	inf := f.Core().V1().ConfigMaps().Informer()
	set := func(obj any) {
		if cm, ok := obj.(*corev1.ConfigMap); ok {
			if r, ok := recordOf(cm); ok {
				m.mu.Lock()
				m.published[r.Unit] = r
				m.mu.Unlock()
			}
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    set,
		UpdateFunc: func(_, obj any) { set(obj) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			if cm, ok := obj.(*corev1.ConfigMap); ok {
				if r, ok := recordOf(cm); ok {
					m.mu.Lock()
					delete(m.published, r.Unit)
					m.mu.Unlock()
				}
			}
		},
	}); err != nil {
		return fmt.Errorf("watch unit records: %w", err)
	}
	f.Start(ctx.Done())
	sctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if !cache.WaitForCacheSync(sctx.Done(), inf.HasSynced) {
		return fmt.Errorf("watch unit records in %s: not synced within a minute", m.opts.Namespace)
	}
	return nil
}

// SourceChecked is part of reconcile.Observer.
func (m *Manager) SourceChecked(reconcile.SourceEvent) {}

// PassCompleted is part of reconcile.Observer: it remembers the units of
// the stack in use, so that the records of units removed from it are
// deleted (by the replica holding their shard).
func (m *Manager) PassCompleted(ev reconcile.PassEvent) {
	if ev.Stack == nil {
		return
	}
	units := make(map[string]bool, len(ev.Stack.Units))
	for _, u := range ev.Stack.Units {
		units[u.Name] = true
	}
	m.mu.Lock()
	m.stackUnits = units
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// UnitReconciled publishes the state of a unit this replica owns, when it
// changed; the write happens in the background.
func (m *Manager) UnitReconciled(ev reconcile.UnitEvent) {
	if !m.Owns(ev.Unit.Name) {
		return
	}
	r := Record{Unit: ev.Unit.Name, Revision: ev.Revision, State: string(ev.State),
		Ready: ev.State == reconcile.StateReady, Replica: m.opts.Identity, Message: ev.Reason, Updated: m.opts.Now()}
	if ev.Err != nil {
		r.Message = "failed" // the error stays in this replica's status: it may name hosts
	}
	m.mu.Lock()
	if last, ok := m.lastSent[r.Unit]; ok && last.same(r) {
		m.mu.Unlock()
		return
	}
	m.lastSent[r.Unit] = r
	m.pending[r.Unit] = r
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// publishLoop writes the pending records until ctx is done.
func (m *Manager) publishLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-m.wake:
		}
		m.mu.Lock()
		batch := m.pending
		m.pending = map[string]Record{}
		m.mu.Unlock()
		for unit, r := range batch {
			if err := m.publish(ctx, r); err != nil && ctx.Err() == nil {
				m.opts.Logger.Warn("publish unit state", "unit", unit, "error", err)
				m.mu.Lock()
				delete(m.lastSent, unit) // try again at the next event
				m.mu.Unlock()
			}
		}
		m.deleteRemoved(ctx)
	}
}

// deleteRemoved deletes the records of the units that are no longer in the
// stack this replica uses and whose shard it holds: the replica that would
// have published them is the one to delete them, and a unit another
// replica still reconciles at a newer revision is republished by it. A
// record changed since the watch saw it is left for the next round.
func (m *Manager) deleteRemoved(ctx context.Context) {
	m.mu.Lock()
	var gone []Record
	if m.stackUnits != nil {
		for unit, r := range m.published {
			if !m.stackUnits[unit] && m.ownsLocked(unit) {
				gone = append(gone, r)
			}
		}
	}
	m.mu.Unlock()
	cms := m.opts.Client.CoreV1().ConfigMaps(m.opts.Namespace)
	for _, r := range gone {
		pre := metav1.Preconditions{ResourceVersion: &r.version}
		err := cms.Delete(ctx, RecordName(r.Unit), metav1.DeleteOptions{Preconditions: &pre})
		switch {
		case err == nil, apierrors.IsNotFound(err):
			m.mu.Lock()
			delete(m.lastSent, r.Unit)
			if cur, ok := m.published[r.Unit]; ok && cur.version == r.version {
				delete(m.published, r.Unit)
			}
			m.mu.Unlock()
			m.opts.Logger.Info("published state of a removed unit deleted", "unit", r.Unit)
		case apierrors.IsConflict(err):
			// Rewritten since: looked at again after the next pass.
		case ctx.Err() == nil:
			m.opts.Logger.Warn("delete published state of a removed unit", "unit", r.Unit, "error", err)
		}
	}
}

func (m *Manager) publish(ctx context.Context, r Record) error {
	cms := m.opts.Client.CoreV1().ConfigMaps(m.opts.Namespace)
	cm := r.configMap(m.opts.Namespace)
	_, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		}
	}
	return err
}
