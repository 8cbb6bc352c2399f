// Package forgetest is a fake forge for tests: an httptest server that
// speaks the pull-request part of the GitHub, GitLab and Gitea REST APIs
// (list open, create, update) and keeps the pull requests in memory. It
// stands in for the forge's API only; git itself is served by
// deploy/testenv/gitserver.
package forgetest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// PR is a pull request the fake holds.
type PR struct {
	Number      int
	Head, Base  string
	Title, Body string
	Open        bool
	// Updates counts the updates after creation.
	Updates int
}

// Forge is a running fake.
type Forge struct {
	// URL is the base URL to configure: for github and gitlab the API
	// root itself, for gitea the host (the client adds /api/v1).
	URL   string
	Token string

	mu           sync.Mutex
	prs          []*PR
	unauthorized int
}

// Start runs a fake forge accepting token until the test ends.
func Start(tb testing.TB, token string) *Forge {
	tb.Helper()
	f := &Forge{Token: token}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	tb.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// PRs returns copies of the pull requests, in creation order.
func (f *Forge) PRs() []PR {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]PR, len(f.prs))
	for i, p := range f.prs {
		out[i] = *p
	}
	return out
}

// Unauthorized counts requests refused for a missing or wrong token.
func (f *Forge) Unauthorized() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unauthorized
}

func (f *Forge) authorized(r *http.Request) bool {
	for _, v := range []string{r.Header.Get("Authorization"), r.Header.Get("PRIVATE-TOKEN")} {
		v = strings.TrimPrefix(strings.TrimPrefix(v, "Bearer "), "token ")
		if v != "" && v == f.Token {
			return true
		}
	}
	return false
}

func (f *Forge) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.authorized(r) {
		f.unauthorized++
		http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
		return
	}
	p := strings.TrimPrefix(r.URL.EscapedPath(), "/api/v1")
	var in map[string]string
	if r.Body != nil && (r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut) {
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	gitlab := strings.HasPrefix(p, "/projects/")
	segs := strings.Split(strings.Trim(p, "/"), "/")
	last := segs[len(segs)-1]
	number, isNumber := strconv.Atoi(last)
	switch {
	case r.Method == http.MethodGet:
		q := r.URL.Query()
		head := q.Get("source_branch")
		if h := q.Get("head"); h != "" {
			_, head, _ = strings.Cut(h, ":")
		}
		base := q.Get("target_branch") + q.Get("base")
		var out []map[string]any
		for _, pr := range f.prs {
			if pr.Open && (head == "" || pr.Head == head) && (base == "" || pr.Base == base) {
				out = append(out, f.view(pr, gitlab))
			}
		}
		if out == nil {
			out = []map[string]any{}
		}
		writeJSON(w, http.StatusOK, out)
	case r.Method == http.MethodPost:
		pr := &PR{Number: len(f.prs) + 1, Open: true, Title: in["title"], Head: in["head"] + in["source_branch"], Base: in["base"] + in["target_branch"], Body: in["body"] + in["description"]}
		for _, o := range f.prs {
			if o.Open && o.Head == pr.Head && o.Base == pr.Base {
				writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"message": "a pull request already exists for " + pr.Head})
				return
			}
		}
		f.prs = append(f.prs, pr)
		writeJSON(w, http.StatusCreated, f.view(pr, gitlab))
	case (r.Method == http.MethodPatch || r.Method == http.MethodPut) && isNumber == nil:
		if number < 1 || number > len(f.prs) {
			http.NotFound(w, r)
			return
		}
		pr := f.prs[number-1]
		pr.Title, pr.Body = in["title"], in["body"]+in["description"]
		pr.Updates++
		writeJSON(w, http.StatusOK, f.view(pr, gitlab))
	default:
		http.Error(w, "not served by the fake forge: "+r.Method+" "+p, http.StatusNotFound)
	}
}

func (f *Forge) view(pr *PR, gitlab bool) map[string]any {
	u := fmt.Sprintf("%s/pulls/%d", f.URL, pr.Number)
	if gitlab {
		return map[string]any{"iid": pr.Number, "web_url": u}
	}
	return map[string]any{"number": pr.Number, "html_url": u, "head": map[string]string{"ref": pr.Head}, "base": map[string]string{"ref": pr.Base}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
