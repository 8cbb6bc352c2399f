package machine

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"unicode/utf8"

	"github.com/stewardhq/steward/reconcile"
)

// ResolveSources inlines the source of every File among objs: source names a
// file of tree relative to unitDir (both slash paths, unitDir relative to the
// repository root). Text becomes spec.content, anything that is not UTF-8
// spec.contentBase64; spec.source is removed. A source leading outside the
// repository, missing, or not a regular file is a *SpecError. Other objects
// are left alone. The pipeline calls it after generation, before checks.
func ResolveSources(objs []*reconcile.Object, tree fs.FS, unitDir string) error {
	for _, o := range objs {
		if !reconcile.IsMachine(o) || o.GetKind() != KindFile {
			continue
		}
		spec, ok := o.Object["spec"].(map[string]any)
		if !ok {
			continue
		}
		raw, ok := spec["source"]
		if !ok {
			continue
		}
		id := reconcile.IDOf(o)
		src, ok := raw.(string)
		if !ok || src == "" {
			return &SpecError{Object: id, Field: "spec.source", Msg: "want a non-empty string"}
		}
		if _, has := spec["content"]; has {
			return &SpecError{Object: id, Field: "spec.content", Msg: "content and source are exclusive"}
		}
		if _, has := spec["contentBase64"]; has {
			return &SpecError{Object: id, Field: "spec.contentBase64", Msg: "contentBase64 and source are exclusive"}
		}
		if path.IsAbs(src) {
			return &SpecError{Object: id, Field: "spec.source", Msg: fmt.Sprintf("%q: want a path relative to the unit directory", src)}
		}
		p := path.Join(unitDir, src)
		if !fs.ValidPath(p) {
			return &SpecError{Object: id, Field: "spec.source", Msg: fmt.Sprintf("%q leads outside the repository", src)}
		}
		fi, err := fs.Stat(tree, p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return &SpecError{Object: id, Field: "spec.source", Msg: fmt.Sprintf("%s: no such file in the repository", p)}
			}
			return &SpecError{Object: id, Field: "spec.source", Msg: fmt.Sprintf("%s: %v", p, err)}
		}
		if !fi.Mode().IsRegular() {
			return &SpecError{Object: id, Field: "spec.source", Msg: fmt.Sprintf("%s is not a regular file", p)}
		}
		data, err := fs.ReadFile(tree, p)
		if err != nil {
			return &SpecError{Object: id, Field: "spec.source", Msg: fmt.Sprintf("read %s: %v", p, err)}
		}
		delete(spec, "source")
		if utf8.Valid(data) {
			spec["content"] = string(data)
		} else {
			spec["contentBase64"] = base64.StdEncoding.EncodeToString(data)
		}
	}
	return nil
}
