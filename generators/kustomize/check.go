package kustomize

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/stewardhq/steward/reconcile"
)

// Sentinels wrapped by the errors of the kustomization check; callers branch
// on them with errors.Is.
var (
	// ErrRemote: an entry names a remote base or file (URL, git reference).
	ErrRemote = errors.New("remote references are refused: everything a unit builds must be in the repository")
	// ErrOutside: an entry names a path outside the repository.
	ErrOutside = errors.New("path is outside the repository")
	// ErrNotFound: an entry names a path that does not exist.
	ErrNotFound = errors.New("not found in the repository")
	// ErrUnsupported: the kustomization uses a feature steward does not run
	// (helm chart inflation).
	ErrUnsupported = errors.New("not supported")
	// ErrNoKustomization: a directory has no kustomization file.
	ErrNoKustomization = errors.New("no kustomization.yaml, kustomization.yml or Kustomization")
)

// kustomizationNames are the file names kustomize recognises, in its order.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// refKind says what an entry may name.
type refKind int

const (
	fileRef    refKind = iota // a file
	anyRef                    // a file or a kustomization directory
	dirRef                    // a kustomization directory
	inlineable                // a file, a kustomization directory, or inline YAML (left alone)
)

// checker walks the kustomizations reachable from a unit's directory and
// refuses entries kustomize must not follow.
type checker struct {
	tree     fs.FS
	visited  map[string]bool
	warnings []Warning
}

// findKustomization returns the kustomization file in dir.
func findKustomization(tree fs.FS, dir string) (string, error) {
	for _, n := range kustomizationNames {
		p := path.Join(dir, n)
		if info, err := fs.Stat(tree, p); err == nil && !info.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w", dir, ErrNoKustomization)
}

// checkDir checks the kustomization in dir and every one it references.
func (c *checker) checkDir(dir string) error {
	if c.visited[dir] {
		return nil
	}
	c.visited[dir] = true
	file, err := findKustomization(c.tree, dir)
	if err != nil {
		return err
	}
	data, err := fs.ReadFile(c.tree, file)
	if err != nil {
		return fmt.Errorf("read kustomization: %w", err)
	}
	refs, err := parseRefs(data, file)
	if err != nil {
		return err
	}
	for _, r := range refs {
		if r.deprecated != "" {
			c.warnings = append(c.warnings, Warning{File: file, Line: r.line, Field: r.field, Use: r.deprecated})
			continue
		}
		if r.unsupported {
			return &reconcile.SourceError{File: file, Line: r.line, Err: fmt.Errorf("%s: helm chart inflation is %w by the kustomize generator (use the helm generator)", r.field, ErrUnsupported)}
		}
		target, err := c.checkRef(dir, r)
		if err != nil {
			return &reconcile.SourceError{File: file, Line: r.line, Err: fmt.Errorf("%s entry %q: %w", r.field, r.value, err)}
		}
		if target == "" {
			continue
		}
		if err := c.checkDir(target); err != nil {
			if errors.Is(err, ErrNoKustomization) && r.kind == dirRef {
				return &reconcile.SourceError{File: file, Line: r.line, Err: fmt.Errorf("%s entry %q: %w", r.field, r.value, err)}
			}
			return err
		}
	}
	return nil
}

// checkRef checks one entry and returns the directory to descend into ("" for
// none).
func (c *checker) checkRef(dir string, r ref) (string, error) {
	if r.kind == inlineable && strings.Contains(r.value, "\n") {
		return "", nil
	}
	if isRemote(r.value) {
		return "", ErrRemote
	}
	if path.IsAbs(r.value) || strings.HasPrefix(r.value, `\`) {
		return "", fmt.Errorf("absolute path: %w", ErrOutside)
	}
	target := path.Join(dir, r.value)
	if target == ".." || strings.HasPrefix(target, "../") {
		return "", ErrOutside
	}
	if err := reconcile.ResolveInTree(c.tree, target); err != nil {
		return "", fmt.Errorf("%w: %w", ErrOutside, err)
	}
	info, err := fs.Stat(c.tree, target)
	if err != nil {
		if r.kind == inlineable && errors.Is(err, fs.ErrNotExist) {
			return "", nil // kustomize then parses the entry as inline YAML
		}
		return "", fmt.Errorf("%s: %w", target, ErrNotFound)
	}
	switch {
	case info.IsDir() && r.kind != fileRef:
		return target, nil
	case info.IsDir():
		return "", fmt.Errorf("%s is a directory, not a file", target)
	case r.kind == dirRef:
		return "", fmt.Errorf("%s is a file, not a kustomization directory", target)
	}
	return "", nil
}

// scpUser matches the user@ prefix of an scp-style git URL (git@host:repo).
var scpUser = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9-]*@`)

// isRemote reports whether kustomize would fetch s over the network: a URL
// with a scheme, a go-getter git:: prefix, an scp-style git URL, a GitHub
// shorthand, or a git reference query.
func isRemote(s string) bool {
	l := strings.ToLower(strings.TrimSpace(s))
	return strings.Contains(l, "://") ||
		strings.HasPrefix(l, "git::") ||
		scpUser.MatchString(l) ||
		strings.HasPrefix(l, "github.com/") || strings.HasPrefix(l, "github.com:") ||
		strings.Contains(l, "?ref=") || strings.Contains(l, "?version=") ||
		strings.Contains(l, "/_git/")
}

// ref is one path-like entry of a kustomization.
type ref struct {
	field       string // e.g. resources, patches[2].path
	value       string
	line        int
	kind        refKind
	unsupported bool
	deprecated  string // the field to use instead; the ref is only a warning
}

// parseRefs lists the path-like entries of a kustomization file.
func parseRefs(data []byte, file string) ([]ref, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &reconcile.SourceError{File: file, Err: err}
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &reconcile.SourceError{File: file, Line: root.Line, Err: errors.New("kustomization is not a mapping")}
	}
	var refs []ref
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i].Value, root.Content[i+1]
		if use, ok := deprecatedFields[key]; ok {
			refs = append(refs, ref{field: key, line: root.Content[i].Line, deprecated: use})
		}
		switch key {
		case "resources", "bases":
			refs = appendScalars(refs, key, val, anyRef)
		case "components":
			refs = appendScalars(refs, key, val, dirRef)
		case "crds", "configurations":
			refs = appendScalars(refs, key, val, fileRef)
		case "patchesStrategicMerge", "generators", "transformers", "validators":
			refs = appendScalars(refs, key, val, inlineable)
		case "patches", "patchesJson6902", "replacements":
			refs = appendItemKeys(refs, key, val, "path", fileRef)
		case "openapi":
			refs = appendKey(refs, key, val, "path", fileRef)
		case "configMapGenerator", "secretGenerator":
			refs = appendGenerators(refs, key, val)
		case "helmCharts", "helmGlobals", "helmChartInflationGenerator":
			refs = append(refs, ref{field: key, line: root.Content[i].Line, unsupported: true})
		}
	}
	return refs, nil
}

// appendScalars adds the scalar items of a list node.
func appendScalars(refs []ref, field string, list *yaml.Node, kind refKind) []ref {
	if list.Kind != yaml.SequenceNode {
		return refs
	}
	for _, n := range list.Content {
		if n.Kind == yaml.ScalarNode && n.Value != "" {
			refs = append(refs, ref{field: field, value: n.Value, line: n.Line, kind: kind})
		}
	}
	return refs
}

// appendItemKeys adds the scalar key of every mapping in a list node.
func appendItemKeys(refs []ref, field string, list *yaml.Node, key string, kind refKind) []ref {
	if list.Kind != yaml.SequenceNode {
		return refs
	}
	for i, item := range list.Content {
		refs = appendKey(refs, fmt.Sprintf("%s[%d]", field, i), item, key, kind)
	}
	return refs
}

// appendKey adds the scalar value of key in a mapping node.
func appendKey(refs []ref, field string, m *yaml.Node, key string, kind refKind) []ref {
	if m.Kind != yaml.MappingNode {
		return refs
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if v := m.Content[i+1]; m.Content[i].Value == key && v.Kind == yaml.ScalarNode && v.Value != "" {
			refs = append(refs, ref{field: field + "." + key, value: v.Value, line: v.Line, kind: kind})
		}
	}
	return refs
}

// appendGenerators adds the files, envs and env of configMapGenerator and
// secretGenerator entries; a files entry may be key=path.
func appendGenerators(refs []ref, field string, list *yaml.Node) []ref {
	if list.Kind != yaml.SequenceNode {
		return refs
	}
	for i, item := range list.Content {
		if item.Kind != yaml.MappingNode {
			continue
		}
		prefix := fmt.Sprintf("%s[%d]", field, i)
		for j := 0; j+1 < len(item.Content); j += 2 {
			k, v := item.Content[j].Value, item.Content[j+1]
			switch k {
			case "files":
				for _, r := range appendScalars(nil, prefix+".files", v, fileRef) {
					if _, p, ok := strings.Cut(r.value, "="); ok {
						r.value = p
					}
					refs = append(refs, r)
				}
			case "envs":
				refs = appendScalars(refs, prefix+".envs", v, fileRef)
			case "env":
				refs = appendKey(refs, prefix, item, "env", fileRef)
			}
		}
	}
	return refs
}
