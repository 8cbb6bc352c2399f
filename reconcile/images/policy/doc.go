// Package policy chooses an image tag from a registry's tag list: the rules
// of images.policies in steward.yaml, pure and without I/O.
//
//   - semver: a Masterminds/semver/v3 range; pre-releases only when the range
//     asks for them (as Masterminds does), or as a channel allows them;
//   - channel: Juju's risk levels over semver pre-releases — stable (no
//     pre-release), candidate (-rc), beta (-beta and -rc), edge (any). The
//     vocabulary is shared with ops packages' channels;
//   - alphabetical and numerical, asc (the greatest wins) or desc (the least);
//   - filter: a regular expression tags must match and an optional extract
//     template ($name, ${name}, $1) whose expansion is what the order ranks,
//     as in Flux's filterTags.
//
// Rank returns every admitted tag best first, so a caller that needs more
// than the tag (a minimum age read from the image config) walks down the
// list and reads only as many images as it must.
package policy
