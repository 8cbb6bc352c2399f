// Package kustomize is the generator that runs kustomize in-process
// (sigs.k8s.io/kustomize/api/krusty) over the revision's tree.
//
// The build reads through a read-only kustomize file system backed by the
// tree and confined to the repository: files anywhere in the repository may
// be referenced (like Flux's kustomize-controller, load restrictions are
// off), nothing outside it can be. Only kustomize's builtin plugins run; exec
// and container KRM functions and helm chart inflation are refused.
//
// Before kustomize sees a kustomization, every kustomization it reaches is
// checked: an entry that names a remote base or file (a URL, a git
// reference), a path outside the repository (absolute, through "..", or
// through a symlink) or a path that does not exist is an error naming the
// kustomization file, line, field and entry. So kustomize never clones or
// downloads anything.
//
// Objects come out in kustomize's own order (its legacy kind order unless the
// kustomization sets sortOptions). An object that is not valid is reported
// at the repository file it came from (found by rebuilding with kustomize's
// origin annotations, only when there is an error), with its kind and name.
// Deprecated kustomization fields are logged through the unit's logger with
// their file and line, and what kustomize prints itself (the log package, and
// its deprecation notes on stderr) goes to that logger too, so steward's log
// stays in its format.
//
// SOPS files are decrypted by the tree the engine passes (reconcile.Decrypter)
// as kustomize reads them, so kustomize builds from plain text: resources,
// patches and generator files alike. A unit's inputs are served as
// InputsFile, a local-config ConfigMap for replacements (see inputs.go).
package kustomize
