package machine

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"text/template"

	"github.com/stewardhq/steward/reconcile"
)

type fileRes struct {
	id     reconcile.ObjectID
	spec   FileSpec
	mode   uint32
	binary []byte // decoded contentBase64
}

func (r *fileRes) ID() reconcile.ObjectID { return r.id }
func (r *fileRes) ident() string          { return r.spec.Path }
func (r *fileRes) watchList() []string    { return nil }

// TemplateData is what a File template sees: {{.Host}} and {{.Facts.os}}.
type TemplateData struct {
	Host  string            // the configured host without its port
	Facts map[string]string // hostname, os, kernel, arch, host, distro, distroVersion, init, addresses, address
	// Inputs are the unit's inputs by name: {{.Inputs.dbHost}}.
	Inputs map[string]string
}

// content returns the bytes the file should hold on h.
func (r *fileRes) content(ctx context.Context, h *host) ([]byte, error) {
	switch {
	case r.spec.Source != "":
		return nil, &SpecError{Object: r.id, Field: "spec.source", Msg: "not resolved: the pipeline must call ResolveSources before planning"}
	case r.binary != nil:
		return r.binary, nil
	case r.spec.Content == nil:
		return []byte{}, nil
	case !r.spec.Template:
		return []byte(*r.spec.Content), nil
	}
	tmpl, err := template.New(r.id.String()).Option("missingkey=error").Funcs(cappedFuncs(MaxTemplateOutput)).Parse(*r.spec.Content)
	if err != nil {
		return nil, &SpecError{Object: r.id, Field: "spec.content", Msg: fmt.Sprintf("template: %v", err)}
	}
	facts, err := h.gatherFacts(ctx)
	if err != nil {
		return nil, err
	}
	b := &cappedBuffer{max: MaxTemplateOutput}
	if err := tmpl.Execute(b, TemplateData{Host: hostname(h.name), Facts: facts, Inputs: inputsOf(ctx).Values()}); err != nil {
		return nil, &SpecError{Object: r.id, Field: "spec.content", Msg: fmt.Sprintf("template: %v", err)}
	}
	return b.Bytes(), nil
}

func (r *fileRes) plan(ctx context.Context, h *host, pc *planCtx) (*step, error) {
	want, err := r.content(ctx, h)
	if err != nil {
		return nil, err
	}
	p := h.path(r.spec.Path)
	found, err := h.matchFile(ctx, p, want)
	if err != nil {
		return nil, err
	}
	fi := found.Info
	st := &step{id: r.id, action: reconcile.Unchanged, entry: entryFor(pc, r, fi == nil)}
	attrLines, attrsDiffer, err := attrPlan(ctx, h, pc, r.id, fi, r.mode, r.spec.Owner, r.spec.Group)
	if err != nil {
		return nil, err
	}
	write := op{kind: opWrite, path: p, content: want, mode: fs.FileMode(r.mode), owner: r.spec.Owner, group: r.spec.Group}
	if fi == nil {
		if write.mode == 0 {
			write.mode = 0o644
		}
		st.action = reconcile.Created
		st.diff = joinLines(contentDiff(r.spec.Path, nil, want, r.spec.Sensitive || r.usesSecretInput(ctx)), strings.Join(attrLines, "\n"))
		st.ops = []op{{kind: opParents, path: p}, write}
		return st, nil
	}
	if fi.IsDir() {
		return nil, &SpecError{Object: r.id, Field: "spec.path", Msg: fmt.Sprintf("%s is a directory on the host", r.spec.Path)}
	}
	cur := found.Content
	replaces := ""
	if !fi.Mode.IsRegular() {
		replaces = fmt.Sprintf("replaces a %s", typeOf(fi.Mode))
	}
	if found.Same {
		if attrsDiffer {
			st.action = reconcile.Configured
			st.diff = joinLines(r.spec.Path+":", strings.Join(attrLines, "\n"))
			st.ops = []op{{kind: opAttrs, path: p, mode: fs.FileMode(r.mode), owner: r.spec.Owner, group: r.spec.Group}}
		}
		return st, nil
	}
	// Rewriting keeps what the spec leaves unset as the file has it.
	if write.mode == 0 {
		write.mode = fi.Mode.Perm()
	}
	if write.owner == "" && fi.UID >= 0 {
		write.owner = strconv.Itoa(fi.UID)
	}
	if write.group == "" && fi.GID >= 0 {
		write.group = strconv.Itoa(fi.GID)
	}
	st.action = reconcile.Configured
	st.diff = joinLines(replaces, contentDiff(r.spec.Path, cur, want, r.spec.Sensitive || r.usesSecretInput(ctx)), strings.Join(attrLines, "\n"))
	st.ops = []op{write}
	return st, nil
}

func typeOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

type dirRes struct {
	id   reconcile.ObjectID
	spec DirectorySpec
	mode uint32
}

func (r *dirRes) ID() reconcile.ObjectID { return r.id }
func (r *dirRes) ident() string          { return r.spec.Path }
func (r *dirRes) watchList() []string    { return nil }

func (r *dirRes) plan(ctx context.Context, h *host, pc *planCtx) (*step, error) {
	p := h.path(r.spec.Path)
	fi, err := h.stat(ctx, p)
	if err != nil {
		return nil, err
	}
	if fi != nil && !fi.IsDir() {
		return nil, &SpecError{Object: r.id, Field: "spec.path", Msg: fmt.Sprintf("%s exists on the host and is not a directory", r.spec.Path)}
	}
	st := &step{id: r.id, action: reconcile.Unchanged, entry: entryFor(pc, r, fi == nil)}
	attrLines, attrsDiffer, err := attrPlan(ctx, h, pc, r.id, fi, r.mode, r.spec.Owner, r.spec.Group)
	if err != nil {
		return nil, err
	}
	if fi == nil {
		mode := fs.FileMode(r.mode)
		if mode == 0 {
			mode = 0o755
		}
		st.action = reconcile.Created
		st.diff = joinLines("+ directory "+r.spec.Path, strings.Join(attrLines, "\n"))
		st.ops = []op{{kind: opParents, path: p}, {kind: opMkdir, path: p, mode: mode, owner: r.spec.Owner, group: r.spec.Group}}
		return st, nil
	}
	if attrsDiffer {
		st.action = reconcile.Configured
		st.diff = joinLines(path.Clean(r.spec.Path)+":", strings.Join(attrLines, "\n"))
		st.ops = []op{{kind: opAttrs, path: p, mode: fs.FileMode(r.mode), owner: r.spec.Owner, group: r.spec.Group}}
	}
	return st, nil
}
