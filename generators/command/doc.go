// Package command generates objects by running a program, the idea of Flux
// v1's .flux.yaml and Argo CD's config management plugins: the program runs
// in the unit's directory and prints a YAML stream of objects on stdout.
//
// run[0] is looked up on PATH when it has no slash; otherwise it is a file
// relative to the unit's directory (which must stay in the repository) or an
// absolute path on the host. The program gets a clean environment (the unit's env plus PATH, HOME,
// STEWARD_UNIT, STEWARD_REVISION and STEWARD_TARGET), runs in its own
// process group, and is killed with all its descendants when it exceeds its
// timeout, when its stdout exceeds the output limit, or when the context is
// cancelled; when it exits on its own, descendants it left running are
// killed too. On Linux a reaper stands between steward and the program:
// steward's own executable re-run as "steward-command-reaper" (an init hook
// of this package), the program's parent and its children's subreaper
// (PR_SET_CHILD_SUBREAPER), so a descendant that left the process group
// (setsid, a double fork) is reparented to the reaper, not to init, and the
// reaper kills and reaps every descendant before it exits. A revision that is not checked out on disk is first
// materialised into a temporary directory, removed afterwards. Errors carry
// the exit status and the tail of stderr.
package command
