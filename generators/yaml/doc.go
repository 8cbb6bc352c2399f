// Package yaml is the generator for plain manifests: every .yaml, .yml and
// .json file under a unit's path, read from the revision's tree.
//
// Files are read in lexical order of their path (descending into
// subdirectories unless the spec says recursive: false); each may hold many
// documents, empty documents are skipped and a List is expanded into its
// items. Hidden files and directories (a name starting with ".") are skipped,
// and so are steward's own files at the repository root (steward.yaml,
// steward.lock) and what a .stewardignore at the unit's path lists, in
// gitignore syntax.
// A symlink is followed only while it stays inside the repository; a symlink
// to a directory is not descended into. Errors name the file, relative to the
// repository root, and the line.
package yaml
