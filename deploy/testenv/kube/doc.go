// Package kube starts a real control plane for tests: etcd and
// kube-apiserver, built by deploy/testenv/build.sh, on free loopback ports in
// a temporary directory. The API server authenticates with static tokens,
// authorizes with RBAC and signs service-account tokens with keys generated
// for the run; there is no controller-manager, so nothing reconciles status,
// finalizes namespaces or creates default service accounts.
//
// One environment serves a whole test package (TestMain, see Shared), and
// each test gets a namespace of its own (Env.Namespace).
package kube
