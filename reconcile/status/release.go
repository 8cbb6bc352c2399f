package status

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/stewardhq/steward/reconcile"
)

// releaseLine copies the release line of a wave's event to every wave of
// its release: one release, one line.
func (o *Observer) releaseLine(ev reconcile.UnitEvent) {
	if ev.Release == "" {
		return
	}
	for _, name := range ev.Unit.WaveUnits() {
		o.store.Update(name, func(s *UnitStatus) { s.Release = ev.Release })
	}
}

// ReleaseController is what the release API asks of the reconciler.
type ReleaseController interface {
	ResumeRelease(ctx context.Context, unit string) error
	AbortRelease(ctx context.Context, unit string) error
}

var _ ReleaseController = (*reconcile.Reconciler)(nil)

// ReleaseAPI serves POST /api/releases/{unit}/{resume|abort}, behind the
// same token (or loopback) as the unit API: resume continues a frozen
// progressive release, abort rolls its applied waves back.
func ReleaseAPI(c ReleaseController, token string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !Allowed(req, token) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		unit, action := req.PathValue("unit"), req.PathValue("action")
		var err error
		switch action {
		case "resume":
			err = c.ResumeRelease(req.Context(), unit)
		case "abort":
			err = c.AbortRelease(req.Context(), unit)
		default:
			http.Error(w, "unknown action (want resume or abort)", http.StatusNotFound)
			return
		}
		switch {
		case errors.Is(err, reconcile.ErrNoRevision):
			http.Error(w, "no good revision yet", http.StatusServiceUnavailable)
			return
		case errors.Is(err, reconcile.ErrNoRelease):
			http.Error(w, fmt.Sprintf("no progressive unit %q", unit), http.StatusNotFound)
			return
		case errors.Is(err, reconcile.ErrReleaseState):
			http.Error(w, reconcile.Redact(err.Error()), http.StatusConflict)
			return
		case err != nil:
			http.Error(w, fmt.Sprintf("%s %s: %s", action, unit, reconcile.Redact(err.Error())), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "release %s %s\n", action, unit)
	})
}
