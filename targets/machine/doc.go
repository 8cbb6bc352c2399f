// Package machine applies the machine kinds (apiVersion machine.steward.dev/v1:
// File, Directory, Unit, Package, Command, User) to hosts reached through a
// Transport: over SSH (package machine/ssh) or on this host (LocalTransport).
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
// # Guards
//
// Command guards (unless, onlyIf) run during Plan, as Ansible's check mode
// cannot: they must be read-only probes. creates is a path under the root.
package machine
