package main

import (
	"crypto/subtle"
	"net/http"

	"github.com/stewardhq/steward/reconcile/status"
)

// statusToken returns the token the status page and GET /api/status
// require: STEWARD_STATUS_TOKEN (or --status-token-file), else
// STEWARD_API_TOKEN; "" when neither is set.
func statusToken(sec *secrets) string {
	if tok := sec.get("STEWARD_STATUS_TOKEN"); tok != "" {
		return tok
	}
	return sec.get("STEWARD_API_TOKEN")
}

// statusAuth guards the status page and the read API. /healthz and /readyz
// stay open for probes. With a token a client must present it, as
// "Authorization: Bearer TOKEN" or as the password of HTTP basic auth (a
// browser prompts for it; the user name is ignored). Without a token only
// loopback clients are served (kubectl port-forward and a laptop's own
// browser are), unless public opens the page to everyone who reaches the
// port.
func statusAuth(next http.Handler, token string, public bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch {
		case req.URL.Path == "/healthz" || req.URL.Path == "/readyz":
		case token != "" && !statusTokenOK(req, token):
			w.Header().Set("WWW-Authenticate", `Basic realm="steward status", charset="UTF-8"`)
			http.Error(w, "unauthorized: the status page wants the status token", http.StatusUnauthorized)
			return
		case token == "" && !public && !status.Allowed(req, ""):
			http.Error(w, "forbidden: without STEWARD_STATUS_TOKEN the status page serves loopback clients only (or run with --status-public)", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, req)
	})
}

func statusTokenOK(req *http.Request, token string) bool {
	if status.Allowed(req, token) {
		return true
	}
	_, pass, ok := req.BasicAuth()
	return ok && subtle.ConstantTimeCompare([]byte(pass), []byte(token)) == 1
}
