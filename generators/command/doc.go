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
//
// A command reads the disk, where steward writes nothing decrypted. When
// the tree decrypts SOPS files (reconcile.DecryptingTree) and some under
// the unit's path and extraPaths — a command unit's inputs, what the
// generation cache watches — decrypt, the command runs instead in a copy
// of those paths and of run[0], the files decrypted, in a fresh 0700
// directory on a memory-backed filesystem ($XDG_RUNTIME_DIR when it is a
// tmpfs, else /dev/shm), locked while it runs and removed when the command
// ends however it ends; a copy whose lock is free (its steward was killed)
// is removed by the next. Without such a filesystem the unit fails with a
// *MemoryError rather than write plain text to disk. Reading the files
// through the tree records what was decrypted, so the engine masks the
// unit's Secrets and keeps it out of the disk cache. The command never
// gets a key.
package command
