package local

import (
	"context"
	"io/fs"
)

// ReadDir lists the entries of p under the root; a missing directory is
// fs.ErrNotExist.
func (t *Transport) ReadDir(ctx context.Context, p string) ([]string, error) {
	r, rp, err := t.at(ctx, p, false)
	if err != nil {
		return nil, err
	}
	ents, err := fs.ReadDir(r.FS(), rp)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, nil
}
