// Package packages finds the content of a stack's package units: it reads
// versions from one ref advertisement per git repository (tags vX.Y.Z, or
// NAME/vX.Y.Z in a monorepo of packages) or from an OCI repository's tags,
// picks the highest a unit's range or channel admits, and keeps what it
// picked in steward.lock (version, commit or digest, content hash). A
// revision is generated from its lock alone, and a package whose content
// no longer matches the lock (a moved tag, a re-pushed artifact) is
// refused.
package packages
