// Package helm renders a local Helm chart the way `helm template` does, in
// process and client-only: it never talks to a cluster.
//
// The chart is read only through the revision's tree (an fs.FS rooted at the
// repository root), so a revision read straight from git's object store
// renders exactly like a checkout. Files and symlinks are confined to the
// repository; .helmignore is honoured and dependencies vendored under charts/
// are rendered with their parent. A Chart.yaml dependency missing from
// charts/ is taken from its file:// repository inside the repository (as
// helm dependency build would vendor it), else it is an error, as in helm
// template. Values files are merged in order (later ones win), then the
// unit's set values: each a path in --set syntax whose value keeps its YAML
// type (like --set-json), never split on commas. The release namespace is
// the unit's namespace, else its target's, else default.
//
// Objects come from the rendered manifests, CRDs from crds/ (unless
// includeCRDs is false) and the chart's hooks, except test hooks. Decode
// errors name the repository file of the template that produced the object;
// line numbers count from the first line of that template's rendered output.
//
// Rendered output past Options.MaxOutput bytes (64 MiB) is refused. A chart
// can allocate without bound before any output exists (range until
// 300000000, a string doubled forty times): with Options.Isolate the chart
// renders in a child process whose memory is limited (generators/internal/
// sandbox), and such a chart fails its unit instead of steward.
package helm
