package yaml

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/stewardhq/steward/reconcile"
)

// IgnoreFile at a unit's path lists, in gitignore syntax, files and
// directories under it that are not manifests.
const IgnoreFile = ".stewardignore"

// ownFiles are steward's own files at the repository root, never manifests
// (a unit at path "." would otherwise read the stack file as one).
var ownFiles = map[string]bool{reconcile.StackFile: true, "steward.lock": true}

// ignorer decides which paths under a unit's directory are skipped.
type ignorer struct {
	dir string
	m   gitignore.Matcher // nil without an ignore file
}

// loadIgnore reads dir/.stewardignore when there is one.
func loadIgnore(tree fs.FS, dir string) (*ignorer, error) {
	ig := &ignorer{dir: dir}
	file := path.Join(dir, IgnoreFile)
	if err := reconcile.ResolveInTree(tree, file); err != nil {
		return nil, &reconcile.SourceError{File: file, Err: err}
	}
	data, err := fs.ReadFile(tree, file)
	if errors.Is(err, fs.ErrNotExist) {
		return ig, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	var ps []gitignore.Pattern
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, nil))
	}
	if err := sc.Err(); err != nil {
		return nil, &reconcile.SourceError{File: file, Err: err}
	}
	ig.m = gitignore.NewMatcher(ps)
	return ig, nil
}

// skip reports whether p (a path under the unit's directory) is ignored.
func (ig *ignorer) skip(p string, isDir bool) bool {
	if !isDir && ownFiles[p] {
		return true
	}
	if ig.m == nil {
		return false
	}
	rel := p
	if ig.dir != "." {
		rel = strings.TrimPrefix(p, ig.dir+"/")
	}
	return ig.m.Match(strings.Split(rel, "/"), isDir)
}
