// Package kubernetes is the Kubernetes target: it applies a unit's objects
// to a cluster by server-side apply (github.com/fluxcd/pkg/ssa), keeps an
// inventory of what each unit applied in the cluster itself, prunes what a
// revision dropped, and waits for the applied set to become healthy
// (kstatus).
//
// Plan reads the cluster and changes nothing: it compares each object with a
// live view of the unit's objects (one LIST per kind and namespace) and a
// fingerprint kept in the inventory, and asks the API server for a dry-run
// only for objects that may differ. Apply executes a plan: Namespaces and
// CustomResourceDefinitions first (waited for), then the rest with bounded
// concurrency, then prune, then the inventory, then the wait.
//
// Field manager conflicts: drift made by imperative writers (kubectl edit,
// controllers using update) is taken back; a field owned by another applier
// is reported as a conflict unless the unit or the object opts into force.
package kubernetes
