// Package registry reads image tags, digests and config created times from
// OCI registries with go-containerregistry, for image automation.
//
// A Client is long-lived: it holds the transport (per-registry rate limit,
// 429 Retry-After honoured, 5xx and network errors retried with backoff,
// plain HTTP and unverified TLS only for registries listed as insecure),
// the credentials read from a docker config.json, and a cache of image
// configs by manifest digest. A Scan is one pass over the policies: it
// lists each repository's tags once however many policies ask (following
// the pagination links), resolves a tag's digest with one HEAD at most, and
// reads a manifest and config only for a digest the cache does not hold.
//
// Credentials never reach a log line or an error: the config file's content
// is not quoted in parse errors, and the transport logs method, host, path
// and status only.
package registry
