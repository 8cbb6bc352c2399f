package status

import (
	"slices"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// ImagesStatus is image automation's part of the status.
type ImagesStatus struct {
	// LastScan is when the registries were last read.
	LastScan time.Time `json:"lastScan,omitzero"`
	// NextScan is when they will be read next.
	NextScan time.Time `json:"nextScan,omitzero"`
	// Error is why the last pass failed as a whole (a refused push: the
	// remote's reason), "" when it did not.
	Error    string              `json:"error,omitempty"`
	Policies []ImagePolicyStatus `json:"policies"`
	// LastCommit is the last commit steward pushed, and where.
	LastCommit string `json:"lastCommit,omitempty"`
	Branch     string `json:"branch,omitempty"`
	// PullRequest is the URL of the pull request opened or updated.
	PullRequest string `json:"pullRequest,omitempty"`
}

// ImagePolicyStatus is one policy at the last scan.
type ImagePolicyStatus struct {
	Name  string `json:"name"`
	Image string `json:"image"`
	// Tag is what it chose; "" with Error set.
	Tag string `json:"tag,omitempty"`
	// Error is why it chose nothing, or why its change was not committed.
	Error    string    `json:"error,omitempty"`
	LastScan time.Time `json:"lastScan,omitzero"`
}

// SetImages replaces the images section (credentials redacted from the
// errors).
func (s *Store) SetImages(im ImagesStatus) {
	im.Policies = slices.Clone(im.Policies)
	im.Error = reconcile.Redact(im.Error)
	for i := range im.Policies {
		im.Policies[i].Error = reconcile.Redact(im.Policies[i].Error)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.source.Images = &im // never changed after: snapshots may share it
}
