// Package writeback is the one path by which steward changes its own
// repository: image automation (reconcile/images) and package lock updates
// both go through it.
//
// A write-back starts from the remote's head of the tracked branch and
// copies that revision to a working copy on disk (WorkCopy). Each Proposal —
// one image policy's choice, one package's new version — edits the working
// copy; every unit whose files it touched is then generated and checked by
// reconcile.Generate, the pipeline `steward verify` runs, and the committed
// output: of those units is refreshed. A proposal whose edit fails to apply,
// generate or pass the checks is undone and reported (Outcome.Err) while
// the others go through (Prepare).
//
// Push commits what passed (author, a text/template message listing every
// change, an optional signature) and pushes it: to the tracked branch only
// as a fast-forward, or to one automation branch (pushBranch) that steward
// owns and updates in place. When the tracked branch moved in between, the
// push is refused; Push re-reads the head, re-applies the proposals on it,
// re-verifies and tries again, a bounded number of times. A proposal whose
// line a human changed meanwhile is not re-applied: the human edit wins and
// the outcome says so (Change.Skipped). With a Forge, a pull request from the
// automation branch is opened, or the open one updated, its body the
// rendered diff of the change (reconcile.MarkdownDiff, as `steward diff
// --base --format markdown`).
//
// The package consumes small interfaces (Remote, Forge); cmd wires
// sources/git and sources/forge into them.
package writeback
