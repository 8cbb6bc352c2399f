package main

import (
	"net/http"
	"net/http/pprof"

	"github.com/stewardhq/steward/reconcile/status"
)

// pprofHandler serves the Go runtime profiles under /debug/pprof/ (run
// --pprof), guarded like the POST API: "Authorization: Bearer TOKEN" when a
// token is configured, else loopback clients only. Profiles show memory and
// goroutine stacks, so they are never open to the network.
func pprofHandler(token string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !status.Allowed(req, token) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, req)
	})
}
