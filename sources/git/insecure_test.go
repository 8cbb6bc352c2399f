package git

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/deploy/testenv/gitserver"
)

// A token or password bound for a plain http:// URL is refused before any
// request goes out, unless AllowInsecureHTTP; the error names the URL without
// the secret. Without credentials, or with AllowInsecureHTTP, http:// works.
func TestInsecureHTTPRefused(t *testing.T) {
	const user, secret = "bot", "t0ken-over-http-55"
	srv := gitserver.Start(t, gitserver.Options{User: user, Password: secret})
	repo := srv.NewRepo(t, "private")
	head := repo.Commit(t, "c", map[string]string{"f": "x\n"})
	before := srv.Counts()
	for name, opts := range map[string]SourceOptions{
		"token":           {URL: repo.URL, Auth: Auth{Username: user, Token: secret}},
		"password":        {URL: repo.URL, Auth: Auth{Username: user, Password: secret}},
		"password in url": {URL: strings.Replace(repo.URL, "http://", "http://"+user+":"+secret+"@", 1)},
	} {
		opts.CacheDir = filepath.Join(t.TempDir(), "cache")
		_, err := NewSource(opts)
		var ie *InsecureHTTPError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "refusing to send a token or password over plain http://") {
			t.Errorf("%s: err = %v, want an InsecureHTTPError", name, err)
			continue
		}
		if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), srv.RepoURL("private")) {
			t.Errorf("%s: error %q leaks the secret or lacks the URL", name, err)
		}
	}
	if after := srv.Counts(); after != before {
		t.Errorf("requests went out: %+v, then %+v", before, after)
	}
	allowed := newSource(t, SourceOptions{URL: repo.URL, AllowInsecureHTTP: true, Auth: Auth{Username: user, Token: secret}})
	if rev := poll(t, allowed); rev.ID != head {
		t.Fatalf("allowed poll = %s", rev.ID)
	}
	public := gitserver.Start(t, gitserver.Options{})
	pub := public.NewRepo(t, "public")
	pubHead := pub.Commit(t, "c", map[string]string{"f": "y\n"})
	if rev := poll(t, newSource(t, SourceOptions{URL: pub.URL})); rev.ID != pubHead {
		t.Fatalf("public poll = %s", rev.ID)
	}
}
