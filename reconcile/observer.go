package reconcile

// Observers returns one Observer that hands every event to each of obs in
// order (nil entries are skipped): status, metrics and notifications are
// separate views of the same events.
func Observers(obs ...Observer) Observer {
	var out fanOut
	for _, o := range obs {
		if o != nil {
			out = append(out, o)
		}
	}
	return out
}

type fanOut []Observer

func (f fanOut) SourceChecked(ev SourceEvent) {
	for _, o := range f {
		o.SourceChecked(ev)
	}
}

func (f fanOut) UnitReconciled(ev UnitEvent) {
	for _, o := range f {
		o.UnitReconciled(ev)
	}
}

func (f fanOut) PassCompleted(ev PassEvent) {
	for _, o := range f {
		o.PassCompleted(ev)
	}
}

// Kind names the kind of target t is: kubernetes, machines or local.
func (t TargetSpec) Kind() string {
	switch {
	case t.Kubernetes != nil:
		return "kubernetes"
	case t.Machines != nil:
		return "machines"
	case t.Local != nil:
		return "local"
	}
	return ""
}
