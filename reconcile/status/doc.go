// Package status keeps what the daemon knows about each unit and serves it.
//
// A Store holds one UnitStatus per unit and the state of the source; the
// scheduler writes to it after every step and readers take a Snapshot, a deep
// copy that never changes under them. Handler serves the store over HTTP:
// /api/status as JSON, /healthz and /readyz for probes, and / as a
// server-rendered HTML page (html/template, embedded CSS, no JavaScript)
// showing every unit at a glance. Everything shown is data the engine
// produced (reconcile.ChangeSet and error text); credentials in URLs are
// stripped before they are stored.
package status
