// Package webhook receives push notifications from git hosts so the daemon
// polls at once instead of waiting for its interval.
//
// A Receiver serves POST /hooks/github, /hooks/gitlab, /hooks/gitea and
// /hooks/generic. Each request is authenticated the way its host signs
// hooks — GitHub's X-Hub-Signature-256 and Gitea's X-Gitea-Signature
// (HMAC-SHA256 of the body), GitLab's X-Gitlab-Token, and for the generic
// endpoint an "Authorization: Bearer" token or an X-Steward-Signature HMAC —
// always with constant-time comparisons. A request that fails gets 401 and
// triggers nothing; a valid push is parsed into a Push and handed to
// Options.OnPush; a ping gets 200 and triggers nothing. Bodies are capped
// (413), other methods get 405. Secrets and signatures are never logged.
package webhook
