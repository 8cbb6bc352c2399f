// Package reconcile is steward's engine library: the stack file model
// (steward.yaml), the dependency graph of units, the objects generators emit,
// the plan and change-set types targets return, and the small interfaces it
// consumes (Generator, Target, Source).
//
// Planning is pure: a Target computes a Plan from objects and live state and
// changes nothing; Apply executes exactly a Plan. Results are data (ChangeSet)
// from which the CLI output, status, events and metrics are all derived.
package reconcile
