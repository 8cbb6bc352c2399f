package helm

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/ignore"

	"github.com/stewardhq/steward/reconcile"
)

var utf8bom = []byte{0xEF, 0xBB, 0xBF}

// loadChart reads the chart at dir in tree, as loader.LoadDir reads one on
// disk: .helmignore applies, symlinks are followed but must stay in the tree.
// Dependencies missing from charts/ are taken from their file:// repository
// inside the tree, or are an error (resolveDependencies).
func loadChart(ctx context.Context, tree fs.FS, dir string) (*chart.Chart, error) {
	return loadChartDepth(ctx, tree, dir, 0)
}

func loadChartDepth(ctx context.Context, tree fs.FS, dir string, depth int) (*chart.Chart, error) {
	info, err := fs.Stat(tree, dir)
	if err != nil {
		return nil, fmt.Errorf("read chart: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("read chart: %s is not a directory", dir)
	}
	rules := ignore.Empty()
	ignoreFile := path.Join(dir, ignore.HelmIgnore)
	if err := reconcile.ResolveInTree(tree, ignoreFile); err != nil {
		return nil, fmt.Errorf("read chart: %w", err)
	}
	if data, err := fs.ReadFile(tree, ignoreFile); err == nil {
		if rules, err = ignore.Parse(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("read %s: %w", ignoreFile, err)
		}
	}
	rules.AddDefaults()

	l := &chartLoader{tree: tree, top: dir, rules: rules}
	if err := l.walk(ctx, dir); err != nil {
		return nil, err
	}
	c, err := loader.LoadFiles(l.files)
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", dir, err)
	}
	if err := resolveDependencies(ctx, tree, dir, c, depth); err != nil {
		return nil, err
	}
	return c, nil
}

type chartLoader struct {
	tree  fs.FS
	top   string
	rules *ignore.Rules
	files []*loader.BufferedFile
}

// walk reads every file under dir not ignored, following symlinks that stay
// within the tree. Symlink cycles end at ResolveInTree's link limit.
func (l *chartLoader) walk(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := fs.ReadDir(l.tree, dir)
	if err != nil {
		return fmt.Errorf("read chart: %w", err)
	}
	for _, e := range entries {
		full := path.Join(dir, e.Name())
		rel := strings.TrimPrefix(full, l.top+"/")
		if l.top == "." {
			rel = full
		}
		if e.Type()&fs.ModeSymlink != 0 {
			if err := reconcile.ResolveInTree(l.tree, full); err != nil {
				return fmt.Errorf("read chart: %w", err)
			}
		}
		fi, err := fs.Stat(l.tree, full) // follows symlinks
		if err != nil {
			return fmt.Errorf("read chart: %w", err)
		}
		if fi.IsDir() {
			if l.rules.Ignore(rel, fi) {
				continue
			}
			if err := l.walk(ctx, full); err != nil {
				return err
			}
			continue
		}
		if l.rules.Ignore(rel, fi) {
			continue
		}
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("read chart: %s is not a regular file", full)
		}
		if fi.Size() > loader.MaxDecompressedFileSize {
			return fmt.Errorf("read chart: %s is larger than %d bytes", full, loader.MaxDecompressedFileSize)
		}
		data, err := fs.ReadFile(l.tree, full)
		if err != nil {
			return fmt.Errorf("read chart: %w", err)
		}
		l.files = append(l.files, &loader.BufferedFile{Name: rel, Data: bytes.TrimPrefix(data, utf8bom)})
	}
	return nil
}
