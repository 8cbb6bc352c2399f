// Package forge opens and updates pull requests (merge requests on GitLab)
// through the REST APIs of GitHub, GitLab and Gitea, for image automation's
// write-back: EnsurePullRequest finds the open pull request from the
// automation branch to the tracked one and updates its title and body, or
// opens one, so a repository never holds two.
//
// The token travels only in a request header (GitHub "Authorization:
// Bearer", Gitea "Authorization: token", GitLab "PRIVATE-TOKEN") and is
// masked from every error; a base URL holding credentials is refused.
package forge
