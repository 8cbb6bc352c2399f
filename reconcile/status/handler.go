package status

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// Handler serves the store:
//
//	GET /api/status  the Snapshot as JSON; ?unit=NAME|GLOB, ?state=STATE and
//	                 ?target=NAME (repeatable or comma-separated) filter the
//	                 units, ?offset=N&limit=N page them; "matched" counts
//	                 the units the filters selected
//	GET /healthz     200 while the process serves
//	GET /readyz      200 once the first reconcile pass completed, else 503
//	GET /            the HTML status page (?refresh=N reloads it every N s,
//	                 ?expand=1 opens every change list): failing units
//	                 first, grouped by state (?group=target|none), 100 a
//	                 page (?page=N, ?per=N), with the filters of /api/status
//
// Mount it at "/" of the daemon's mux; more specific patterns registered
// there (/metrics, /hooks/) take precedence.
func Handler(s *Store) http.Handler {
	return newHandler(s, time.Now)
}

type handler struct {
	store *Store
	now   func() time.Time
	mux   *http.ServeMux
}

func newHandler(s *Store, now func() time.Time) *handler {
	h := &handler{store: s, now: now, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /api/status", h.apiStatus)
	h.mux.HandleFunc("GET /healthz", h.healthz)
	h.mux.HandleFunc("GET /readyz", h.readyz)
	h.mux.HandleFunc("GET /{$}", h.page)
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// apiResult is /api/status: the snapshot of the units the query selected
// and how many matched before offset and limit.
type apiResult struct {
	Snapshot
	Matched int `json:"matched"`
}

func (h *handler) apiStatus(w http.ResponseWriter, r *http.Request) {
	q, err := ParseQuery(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	res := h.store.Query(q, ByStore)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(apiResult{res.Snapshot, res.Matched}); err != nil {
		slog.Debug("write status", "err", err)
	}
}

func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (h *handler) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if !h.store.Ready() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: first reconcile pass not complete or shutting down\n"))
		return
	}
	_, _ = w.Write([]byte("ok\n"))
}

func (h *handler) page(w http.ResponseWriter, r *http.Request) {
	refresh := 0
	if v := r.URL.Query().Get("refresh"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			http.Error(w, "refresh: want a number of seconds ≥ 1", http.StatusBadRequest)
			return
		}
		refresh = min(n, 3600)
	}
	p, err := parsePageParams(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	res := h.store.Query(p.query())
	v := newPageView(res.Snapshot, h.now(), refresh)
	v.Expand = r.URL.Query().Get("expand") == "1"
	v.Counts = v.Counts[:0]
	for _, st := range States {
		if res.Counts[st] > 0 {
			v.Counts = append(v.Counts, stateCount{st, res.Counts[st]})
		}
	}
	v.Nav = newNavView(p, res)
	groupHeadings(v.Units, p.group)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// No script runs on the page: forbid it outright.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if err := pageTemplate.Execute(w, v); err != nil {
		slog.Error("render status page", "err", err)
	}
}
