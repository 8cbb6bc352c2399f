// Package local is the machine transport for this host: a local Transport
// puts every path under its root directory and confines it there (an
// os.Root: symlinks cannot lead out), so several "hosts" on one machine keep
// separate trees, and runs commands with a clean environment (PATH and HOME,
// then what the target and the command set), never steward's own.
//
// Reads go through the directory a file is in, opened once per transport,
// and MatchFile does not read again a file found holding the wanted
// content while its stat is unchanged, ctime included (see seenFiles);
// nor does ReadFileUnlessSum, with which the target reads each unit's
// inventory: a no-op drift pass costs one fstatat per File and per unit.
//
// NewTarget makes the machine target of a stack's `local:` target.
package local
