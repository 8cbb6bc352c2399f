// Package tools builds the real components the tests run: kube-apiserver,
// etcd and the distribution registry. It is a module of its own so that
// k8s.io/kubernetes and its staging replaces never reach steward's go.mod.
// deploy/testenv/build.sh builds it.
package tools
