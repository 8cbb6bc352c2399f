package reconcile

// SchedulerStats returns how many units the reconciler's passes visited so
// far and the most it had in flight at once.
func SchedulerStats(r *Reconciler) (visits, peak int) {
	r.sched.mu.Lock()
	defer r.sched.mu.Unlock()
	return r.sched.visits, r.sched.peak
}

// FirstStarted returns the unit the reconciler's last pass started first.
func FirstStarted(r *Reconciler) string {
	r.sched.mu.Lock()
	defer r.sched.mu.Unlock()
	return r.sched.first
}

// ObjectsHashed returns how many objects HashObjects has encoded so far.
func ObjectsHashed() int64 { return objectsHashed.Load() }
