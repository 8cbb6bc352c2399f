package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/stewardhq/steward/sources/webhook"
)

// The daemon mounts the receiver on its mux and turns a push into an
// immediate poll with a non-blocking send.
func Example() {
	poll := make(chan struct{}, 1)
	opts := webhook.DefaultOptions()
	opts.Secret = []byte("shared-secret")
	opts.OnPush = func(ctx context.Context, p webhook.Push) {
		select {
		case poll <- struct{}{}:
		default: // a poll is already due
		}
	}
	mux := http.NewServeMux()
	webhook.New(opts).Register(mux)

	req := httptest.NewRequest("POST", "/hooks/generic", strings.NewReader(""))
	req.Header.Set("Authorization", "Bearer shared-secret")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Println(rec.Code, len(poll))
	// Output: 202 1
}
