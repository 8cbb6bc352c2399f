// Package packages reads ops packages: a directory with a
// steward-package.yaml (reconcile.PackageManifest) whose parameters are a
// JSON Schema. It compiles that schema, applies its defaults to a unit's
// with: and validates the result with errors naming the stack file's line
// and the schema path, hashes a package's content for steward.lock, and
// lists a package's examples for `steward package test`.
package packages
