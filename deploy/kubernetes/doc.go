// Package kubernetes holds no Go code of its own: this directory is the
// kustomize base that runs steward in a cluster (see README.md), and the
// package's tests check it against a real kube-apiserver. They build the
// base with steward's own kustomize generator, server-side dry-run every
// object, apply it, and ask the API server with SubjectAccessReviews whether
// the steward service account can do what steward needs and nothing more;
// then steward's Kubernetes target, authenticated as that service account,
// applies a unit and keeps its inventory.
package kubernetes
