package git

import (
	"context"

	"github.com/stewardhq/steward/reconcile"
)

var _ reconcile.RevisionFinder = (*Source)(nil)

// Revision returns an earlier revision by its commit ID from the source's
// cache (a progressive release's abort rolls waves back to one).
func (s *Source) Revision(ctx context.Context, id string) (*reconcile.Revision, error) {
	return s.repo.Tree(ctx, id)
}
