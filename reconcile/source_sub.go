package reconcile

import (
	"context"
	"io"
	"io/fs"
	"path/filepath"
)

// SubRevision returns rev seen from dir, a slash-separated directory of its
// tree: the revision of a stack that lives below its repository's top.
func SubRevision(rev *Revision, dir string) (*Revision, error) {
	if dir == "." || dir == "" {
		return rev, nil
	}
	sub := *rev
	var err error
	if sub.Tree, err = fs.Sub(rev.Tree, dir); err != nil {
		return nil, err
	}
	if sub.Dir != "" {
		sub.Dir = filepath.Join(sub.Dir, filepath.FromSlash(dir))
	}
	return &sub, nil
}

// SubSource returns a Source yielding src's revisions seen from dir
// (SubRevision); closing it closes src.
func SubSource(src Source, dir string) Source {
	if dir == "." || dir == "" {
		return src
	}
	return &subSource{src: src, dir: dir}
}

type subSource struct {
	src Source
	dir string
}

func (s *subSource) Poll(ctx context.Context) (*Revision, error) {
	rev, err := s.src.Poll(ctx)
	if err != nil {
		return nil, err
	}
	return SubRevision(rev, s.dir)
}

func (s *subSource) Close() error {
	if c, ok := s.src.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
