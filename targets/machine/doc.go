// Package machine applies the machine kinds (apiVersion machine.steward.dev/v1:
// File, Directory, Unit, Package, Command, User) to hosts reached through a
// Transport: over SSH (package machine/ssh) or on this host (machine/local).
//
// Planning reads every host and changes nothing; Apply executes exactly the
// per-host plans, batch by batch, with a failure breaker and a health check
// that rolls a host back to the last good revision. Each host keeps an
// inventory of what a unit applied at <root>/var/lib/steward/<unit>.json.
//
// # Ordering
//
// On one host, objects are applied in kind order — User, Directory (parents
// first), Package, File, Command, Unit — except that an object always comes
// after the objects it watches.
//
// # Ownership and prune
//
// An inventory entry records whether steward created the thing (the file,
// directory, unit file, package or user was absent when steward first applied
// it) or adopted it (it existed already). Prune removes only what steward
// created; an adopted thing that is no longer declared is forgotten and left
// in place. Ownership is kept while the object stays declared, so content
// changes never turn a created file into an adopted one.
//
// # Pending actions
//
// Before a host changes anything, the restarts and watch-triggered command
// runs the plan will do are written to the inventory as pending; each is
// cleared only once it has run. A run that dies in between leaves them
// recorded, and the next run performs them (at least once).
//
// Before a host changes anything, the inventory also lists what the run is
// about to create, so that prune still removes what a run killed midway
// (kill -9, a lost host) created.
//
// # Health and rollback
//
// A host whose health check fails after a change is rolled back to its last
// good revision, and the inventory records the failed revision, when and
// why. That revision is then not applied to the host again (its changes are
// skipped, saying "rolled back from revision X at T: reason"), so the
// reconciler's retries do not apply and roll back a bad revision over and
// over; a new revision, or a manual sync (reconcile.RetryHeld), applies it again.
// A held host counts as failed for the rollout breaker. A host whose last
// run failed (a first revision failing its health check has nothing to
// roll back to) is checked again on the next run even when nothing
// changes, so it is never reported healthy unchecked.
//
// # Packages
//
// apt and dnf are detected per host. apt waits for the dpkg lock another
// process holds up to PackageLockTimeout, then fails with apt's message.
// When apt's index does not know a package (or the wanted version), or is
// older than PackageCacheMaxAge, the index is refreshed first, at most once
// per run of a host; dnf refreshes its cache once when an install fails.
// A lower version is a downgrade (apt --allow-downgrades, dnf downgrade).
// Errors quote the package manager's own error lines.
//
// # Results
//
// Apply returns a change set: failed hosts and objects are failed changes.
// It returns an error only when the run was aborted. A Target holding
// connections (Config.Connections, an ssh.Pool) releases them on Close.
//
// # Guards
//
// Command guards (unless, onlyIf) run during Plan, as Ansible's check mode
// cannot: they must be read-only probes. creates is a path under the root.
package machine
