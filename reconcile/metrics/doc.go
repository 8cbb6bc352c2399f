// Package metrics records what the reconciler does as Prometheus metrics.
//
// A Recorder owns its collectors and derives every sample from the data the
// engine already has: a reconcile.ChangeSet and its error feed
// steward_reconcile_duration_seconds (a histogram per target),
// steward_reconcile_last_duration_seconds, steward_reconcile_total and
// steward_apply_objects_total; readiness, drift, the source revision and git
// fetch durations have their own setters. Per-unit series are a handful of
// numbers a unit, built into samples when scraped, so that 10 000 units
// cost the daemon little memory. The Recorder registers nothing on
// the global default registry: cmd registers it on a prometheus.Registry of
// its own (NewRegistry builds one with the Go and process collectors too).
package metrics
