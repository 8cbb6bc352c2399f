// Package local is the machine transport for this host: a local Transport
// puts every path under its root directory and confines it there (an
// os.Root: symlinks cannot lead out), so several "hosts" on one machine keep
// separate trees, and runs commands with a clean environment (PATH and HOME,
// then what the target and the command set), never steward's own.
//
// NewTarget makes the machine target of a stack's `local:` target.
package local
