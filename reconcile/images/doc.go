// Package images is image automation's engine part: it finds the setter
// markers of YAML files and rewrites the marked scalars, byte for byte
// (rewrite.go), scans registries through the small Registry interface to
// choose a tag per policy (scan.go), lists what each policy would choose
// beside what the repository holds (list.go), and plans and writes the
// edits of an update (update.go: Plan is pure, Write keeps a concurrent
// human edit). The tag rules themselves are in
// reconcile/images/policy; the registry client is sources/registry.
//
// Markers are Flux's: a line comment `# {"$imagepolicy": "POLICY"}` on a
// scalar sets the whole reference (name:tag, or name:tag@digest when the
// policy pins digests); the suffixes :tag, :name and :digest set one part;
// Flux's NAMESPACE:POLICY form is accepted and the namespace ignored.
package images
