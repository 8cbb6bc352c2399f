// Package git is steward's git source: revision trees read straight from
// git's object store (no worktree checkout), and remote tracking for the
// reconciler.
//
// Open and (*Repository).Tree serve `steward verify` and `steward diff`: a
// commit's tree is an fs.FS (also fs.ReadDirFS, fs.ReadFileFS, fs.StatFS,
// fs.ReadLinkFS and fs.SubFS) over git objects. Symlinks are followed only
// while they stay inside the tree; submodules (gitlinks) appear as empty
// directories, since their commits live in another repository.
//
// Source implements reconcile.Source: it keeps a bare clone in a cache
// directory, starts every Poll with one ref advertisement (ls-remote) and
// fetches only the tracked ref, and only when it moved. It tracks a branch
// (default: the remote HEAD), a tag, or the highest tag in a semver range;
// authenticates with an SSH key checked against known_hosts or HTTPS
// basic/token credentials; fetches shallow where the server allows; accepts
// force-pushed history (reported as Rewritten); and, when enabled, refuses
// commits that are unsigned or not signed by a trusted OpenPGP or SSH key
// (SignatureError). Credentials never appear in errors: URLs are printed
// without their userinfo and secrets are scrubbed from wrapped messages.
//
// Commit and Push write back to the tracked remote for image automation
// (Remote adapts them to reconcile/writeback): commits may be signed with an
// OpenPGP or SSH key (NewCommitSigner) in the formats the Verifier checks,
// and FetchBranch re-reads a branch's head after a refused push.
package git
