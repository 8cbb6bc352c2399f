package reconcile

// validateUnitKind refuses unit fields that mean nothing for the kind of
// the unit's target, rather than ignoring them: health is a machine
// target's gate after apply, while wait, serviceAccount and force are
// Kubernetes apply options.
func (s *Stack) validateUnitKind(at string, u *Unit, fail func(string, string, ...any)) {
	if !u.PruneLimit.IsZero() && !u.PruneLimit.Percent {
		fail(at+".pruneLimit", "want a percentage such as 50%%, found %d", u.PruneLimit.N)
	}
	t, ok := s.Targets[u.Target]
	if !ok {
		return // the dangling target is reported already
	}
	switch {
	case t.Kubernetes != nil:
		if u.Health != nil {
			fail(at+".health", "health applies to machine and local targets only; target %q is kubernetes (use wait)", u.Target)
		}
	case t.Machines != nil || t.Local != nil:
		kind := "machines"
		if t.Local != nil {
			kind = "local"
		}
		if u.Wait != nil {
			fail(at+".wait", "wait applies to kubernetes targets only; target %q is %s (use health)", u.Target, kind)
		}
		if u.ServiceAccount != "" {
			fail(at+".serviceAccount", "serviceAccount applies to kubernetes targets only; target %q is %s", u.Target, kind)
		}
		if u.Force {
			fail(at+".force", "force applies to kubernetes targets only; target %q is %s", u.Target, kind)
		}
	}
}
