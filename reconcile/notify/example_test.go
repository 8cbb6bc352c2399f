package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/stewardhq/steward/reconcile"
	"github.com/stewardhq/steward/reconcile/notify"
)

// The daemon builds its notifiers from flags, hands them to a Dispatcher,
// and calls Notify after every unit; Close on shutdown delivers what is left.
func Example() {
	got := make(chan notify.WebhookPayload, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p notify.WebhookPayload
		_ = json.NewDecoder(r.Body).Decode(&p)
		got <- p
	}))
	defer srv.Close()

	opts := notify.DefaultWebhookOptions()
	opts.URL = srv.URL
	hook, err := notify.NewWebhook(opts)
	if err != nil {
		panic(err)
	}
	d := notify.NewDispatcher(notify.DefaultDispatcherOptions(), hook)
	_ = d.Notify(context.Background(), notify.Event{
		Kind: notify.Applied, Unit: "app", Target: "prod", Revision: "3f9a1c2b7e6d",
		Result: &reconcile.ChangeSet{Changes: []reconcile.Change{
			{Object: reconcile.ObjectID{Group: "apps", Kind: "Deployment", Namespace: "web", Name: "app"}, Action: reconcile.Configured},
		}},
	})
	_ = d.Close(context.Background())
	p := <-got
	fmt.Println(p.Summary, p.Changes[0].Object)
	// Output: applied 3f9a1c2: 1 configured apps/Deployment/web/app
}
