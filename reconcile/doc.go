// Package reconcile is steward's engine library: the stack file model
// (steward.yaml), the dependency graph of units, the objects generators emit,
// the plan and change-set types targets return, and the small interfaces it
// consumes (Generator, Target, Source).
//
// Planning is pure: a Target computes a Plan from objects and live state and
// changes nothing; Apply executes exactly a Plan. Results are data (ChangeSet)
// from which the CLI output, status, events and metrics are all derived.
//
// One options vocabulary serves every package: a struct named Options (or
// XOptions where a package configures several things) with documented
// fields, a DefaultOptions (DefaultXOptions) constructor, and one unexported
// withDefaults method the constructor applies, so a zero field takes its
// default.
//
// # Outputs and inputs
//
// A unit's outputs (outputs.go) are recorded after it applied, through the
// optional OutputStore of its target, and kept there beside its inventory.
// A unit's inputs name outputs of units it depends on (directly or
// transitively); generators get them in their idiom (GenerateRequest.Inputs)
// and machine File templates as .Inputs. The reconciler regenerates the
// consumers of a changed output and applies them in the same pass, within
// PropagationOptions (reconciler_outputs.go). Offline, inputs take literals
// and the outputs' example: values, marked; an input with no value leaves its
// unit not generated (an *InputError), never given an empty string.
package reconcile
