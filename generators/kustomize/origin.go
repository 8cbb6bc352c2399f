package kustomize

import (
	"errors"
	"fmt"
	"log/slog"
	"path"
	"slices"

	"go.yaml.in/yaml/v3"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"

	"github.com/stewardhq/steward/reconcile"
)

// decodeResources turns kustomize's resources into objects one by one, so
// an object that is not valid is reported at the file it came from rather
// than at a line of the built stream. locate finds that file on demand.
func decodeResources(m resmap.ResMap, dir string, locate func(i int) string) ([]*reconcile.Object, error) {
	var objs []*reconcile.Object
	for i, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, &reconcile.SourceError{File: locate(i), Err: fmt.Errorf("%s: %w", describe(r), err)}
		}
		got, err := reconcile.DecodeObjects(y, "kustomize build "+dir)
		if err != nil {
			var se *reconcile.SourceError
			if errors.As(err, &se) {
				err = se.Err
			}
			return nil, &reconcile.SourceError{File: locate(i), Err: fmt.Errorf("%s: %w", describe(r), err)}
		}
		objs = append(objs, got...)
	}
	return objs, nil
}

// describe names a resource as far as it has a kind and a name.
func describe(r *resource.Resource) string {
	kind, name, ns := r.GetKind(), r.GetName(), r.GetNamespace()
	if kind == "" {
		kind = "object without kind"
	}
	switch {
	case name == "":
		return kind + " without name"
	case ns != "":
		return kind + " " + ns + "/" + name
	}
	return kind + " " + name
}

// originOf rebuilds dir with kustomize's origin annotations switched on in
// its kustomization file (kustFile) and returns the repository file the
// i-th resource came from, or where it was generated; the kustomization
// directory when that cannot be told. It runs only when reporting an error,
// so the output of a good build never depends on it.
func originOf(fsys *treeFS, dir, kustFile string, i int, logger *slog.Logger) string {
	data, err := fsys.ReadFile(abs(kustFile))
	if err != nil {
		return dir
	}
	withOrigins, err := enableOrigins(data)
	if err != nil {
		return dir
	}
	fsys.override(kustFile, withOrigins)
	defer fsys.override(kustFile, nil)
	m, err := build(fsys, abs(dir), logger, true)
	if err != nil || i >= m.Size() {
		return dir
	}
	o, err := m.Resources()[i].GetOrigin()
	if err != nil || o == nil {
		return dir
	}
	switch {
	case o.Path != "" && o.Repo == "":
		return path.Join(dir, o.Path)
	case o.ConfiguredIn != "":
		return fmt.Sprintf("%s (%s %s)", path.Join(dir, o.ConfiguredIn), o.ConfiguredBy.Kind, o.ConfiguredBy.Name)
	}
	return dir
}

// enableOrigins adds originAnnotations to a kustomization's buildMetadata.
func enableOrigins(data []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("kustomization is not a mapping")
	}
	root := doc.Content[0]
	item := &yaml.Node{Kind: yaml.ScalarNode, Value: "originAnnotations"}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "buildMetadata" {
			continue
		}
		seq := root.Content[i+1]
		if seq.Kind != yaml.SequenceNode {
			return nil, errors.New("buildMetadata is not a list")
		}
		if !slices.ContainsFunc(seq.Content, func(n *yaml.Node) bool { return n.Value == item.Value }) {
			seq.Content = append(seq.Content, item)
		}
		return yaml.Marshal(&doc)
	}
	root.Content = append(root.Content,
		&yaml.Node{Kind: yaml.ScalarNode, Value: "buildMetadata"},
		&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{item}})
	return yaml.Marshal(&doc)
}
