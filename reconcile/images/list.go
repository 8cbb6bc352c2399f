package images

import (
	"context"
	"io/fs"
	"slices"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// Listing is one policy's line of `steward images list`: what it would
// choose, what the repository holds now, and how old the choice is.
type Listing struct {
	Choice
	// Markers are the markers of this policy in the tree, in file order.
	Markers []Marker
	// Age is how old the chosen image is (from its config's created
	// time); 0 when unknown.
	Age time.Duration
}

// InGit is the distinct tags the policy's markers hold now (markers that
// set a name or digest only hold none).
func (l Listing) InGit() []string {
	var tags []string
	for _, m := range l.Markers {
		if t := m.Ref().Tag; t != "" && !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags
}

// UpToDate reports whether every marker already holds the choice.
func (l Listing) UpToDate() bool {
	if l.Tag == "" {
		return false
	}
	for _, m := range l.Markers {
		if m.Value != l.Ref.Value(m.Field) {
			return false
		}
	}
	return true
}

// List is the data of `steward images list`: one scan of the stack's
// policies (reading each chosen image's created time for its age), and the
// markers found in tree under the units' paths. Marker warnings and
// markers naming an unknown policy come back beside it.
func List(ctx context.Context, reg Registry, s *reconcile.Stack, tree fs.FS, opts Options) ([]Listing, []Warning, error) {
	markers, warns, err := FindInTree(tree, MarkerDirs(s))
	if err != nil {
		return nil, nil, err
	}
	unknown := CheckMarkers(s, markers)
	if s.Images == nil {
		return nil, warns, unknown
	}
	opts = opts.withDefaults()
	opts.Created = true
	choices := Scan(ctx, reg, s.Images.Policies, opts)
	now := opts.Now()
	out := make([]Listing, len(choices))
	for i, c := range choices {
		out[i] = Listing{Choice: c}
		if !c.Created.IsZero() {
			out[i].Age = now.Sub(c.Created)
		}
		for _, m := range markers {
			if m.Policy == c.Policy {
				out[i].Markers = append(out[i].Markers, m)
			}
		}
	}
	return out, warns, unknown
}
