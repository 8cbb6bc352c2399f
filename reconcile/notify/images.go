package notify

// The kinds of image automation's events: Unit names the units the change
// touched (comma-separated), Revision the commit.
const (
	ImageCommit      Kind = "image-commit"       // a write-back was pushed
	ImagePullRequest Kind = "image-pull-request" // its pull request was opened or updated
)
