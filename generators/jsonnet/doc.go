// Package jsonnet is the generator that evaluates a jsonnet file with
// github.com/google/go-jsonnet, reading imports from the revision's tree.
//
// Imports are searched, first match wins, in the importing file's directory,
// then each jpath directory of the spec (relative to the repository root),
// then lib/ and vendor/ at the repository root. An import that leaves the
// repository (an absolute path, "..", a symlink out) is an error at the
// import's file:line.
//
// The output may be one object, an array of objects, or a tree of nested
// objects and arrays whose leaves are Kubernetes-shaped objects (having
// apiVersion or kind), flattened like kubecfg and Tanka do; a List is
// expanded into its items and null leaves are skipped. Objects come out in
// the tree's order (object fields sorted by name, arrays in order).
//
// Output past Options.MaxOutput bytes of JSON (64 MiB) is refused. A
// program can allocate without bound while it evaluates (a string or an
// array doubled forty times by a tailstrict recursion): with
// Options.Isolate it evaluates in a child process whose memory is limited
// (generators/internal/sandbox), reading imports through steward, and such
// a program fails its unit instead of steward.
package jsonnet
