package ssh

import (
	"context"
)

// ReadDir lists the names in directory p over SFTP; a missing directory is
// fs.ErrNotExist.
func (t *Transport) ReadDir(ctx context.Context, p string) ([]string, error) {
	c, err := t.connect(ctx)
	if err != nil {
		return nil, err
	}
	ents, err := c.sftp.ReadDir(p)
	if err != nil {
		return nil, pathErr("list", p, err)
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, nil
}
