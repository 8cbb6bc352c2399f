package status

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/stewardhq/steward/reconcile"
)

// Controller is what the unit API asks of the reconciler.
type Controller interface {
	Current() (*reconcile.Revision, *reconcile.Stack)
	Suspend(ctx context.Context, unit string) error
	Resume(ctx context.Context, unit string) error
	Trigger()
	RequestSync(units []string)
}

var _ Controller = (*reconcile.Reconciler)(nil)

// UnitAPI serves POST /api/units/{unit}/{suspend|resume|sync}. With a token
// it requires "Authorization: Bearer TOKEN"; without one only loopback
// clients are served (Allowed). A sync is queued on the reconciler's own
// loop (RequestSync): a shutdown waits for it, and requests that arrive
// while one is queued join it.
func UnitAPI(c Controller, token string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !Allowed(req, token) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		unit := req.PathValue("unit")
		if _, stack := c.Current(); stack == nil || (stack.Unit(unit) == nil && stack.Release(unit) == nil) {
			http.Error(w, fmt.Sprintf("no unit %q", unit), http.StatusNotFound)
			return
		}
		switch req.PathValue("action") {
		case "suspend":
			if err := c.Suspend(req.Context(), unit); err != nil {
				http.Error(w, fmt.Sprintf("suspended until steward restarts: %v", err), http.StatusInternalServerError)
				return
			}
		case "resume":
			if err := c.Resume(req.Context(), unit); err != nil {
				http.Error(w, fmt.Sprintf("resumed until steward restarts: %v", err), http.StatusInternalServerError)
				return
			}
			c.Trigger()
		case "sync":
			c.RequestSync([]string{unit})
		default:
			http.Error(w, "unknown action (want suspend, resume or sync)", http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "%s %s\n", req.PathValue("action"), unit)
	})
}

// Allowed reports whether req may use the daemon's control endpoints: with
// a token, when it carries it as a bearer token (compared in constant
// time); without one, when it comes from loopback.
func Allowed(req *http.Request, token string) bool {
	if token != "" {
		got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		return ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
