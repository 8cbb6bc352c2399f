// Package notify tells the outside world what the reconciler did.
//
// An Event (a unit applied, failed, had its drift corrected) goes to
// Notifiers: a generic JSON webhook (optionally HMAC-signed) and commit
// statuses on GitHub, Gitea and GitLab. A Dispatcher fans events out to them
// asynchronously — one bounded queue and one goroutine per notifier, a
// timeout per delivery — and logs failures: a slow or failing endpoint never
// blocks or fails a reconcile. Tokens travel in headers only and never
// appear in errors or logs.
package notify
