// Package examples holds stacks that run as they are written: each
// directory has a steward.yaml and a README.md, and `steward verify` passes
// in each (cmd/steward's TestExamplesVerify runs it). The package's own
// tests apply the examples that need real systems: the machine estate to
// test sshd hosts and to real Debian guests (systemd-nspawn), and the mixed stack (a database host and the Kubernetes
// app that depends on it) to an sshd host, a kube-apiserver and a
// registry.
package examples
