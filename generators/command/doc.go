// Package command generates objects by running a program, the idea of Flux
// v1's .flux.yaml and Argo CD's config management plugins: the program runs
// in the unit's directory and prints a YAML stream of objects on stdout.
//
// run[0] is looked up on PATH when it has no slash; otherwise it is a file
// relative to the unit's directory (which must stay in the repository) or an
// absolute path on the host. The program gets a clean environment (the unit's env plus PATH, HOME,
// STEWARD_UNIT, STEWARD_REVISION and STEWARD_TARGET), runs in its own
// process group, and is killed with all its children when it exceeds its
// timeout, when its stdout exceeds the output limit, or when the context is
// cancelled. A revision that is not checked out on disk is first
// materialised into a temporary directory, removed afterwards. Errors carry
// the exit status and the tail of stderr.
package command
