package kustomize

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

func TestGenerateBadInput(t *testing.T) {
	tests := []struct {
		name     string
		dir      string
		wantFile string // SourceError.File; "" when the error is kustomize's own
		wantLine int
		wantIs   error
		wantMsg  string
	}{
		{name: "bad-outside", wantFile: "app/kustomization.yaml", wantLine: 3, wantIs: ErrOutside, wantMsg: `resources entry "../../outside.yaml"`},
		{name: "bad-outside-cmgen", wantFile: "app/kustomization.yaml", wantLine: 4, wantIs: ErrOutside, wantMsg: `configMapGenerator[0].files entry "/etc/passwd": absolute path`},
		{name: "bad-remote-url", wantFile: "app/kustomization.yaml", wantLine: 2, wantIs: ErrRemote, wantMsg: `resources entry "https://github.com/kubernetes-sigs/kustomize//examples/multibases?ref=v1.0.6"`},
		{name: "bad-remote-git", dir: "app/overlay", wantFile: "app/base/kustomization.yaml", wantLine: 3, wantIs: ErrRemote, wantMsg: `bases entry "git@github.com:example/platform.git//base?ref=main"`},
		{name: "bad-remote-github", wantFile: "app/kustomization.yaml", wantLine: 2, wantIs: ErrRemote, wantMsg: `components entry "github.com/example/components/monitoring"`},
		{name: "bad-missing", wantFile: "app/kustomization.yaml", wantLine: 3, wantIs: ErrNotFound, wantMsg: `resources entry "service.yaml": app/service.yaml`},
		{name: "bad-helm", wantFile: "app/kustomization.yaml", wantLine: 1, wantIs: ErrUnsupported, wantMsg: "helmCharts: helm chart inflation"},
		{name: "bad-nokustomization", wantIs: ErrNoKustomization, wantMsg: "app: no kustomization.yaml"},
		{name: "bad-exec-plugin", wantMsg: "external plugins disabled"},
		{name: "bad-malformed", wantMsg: "yaml: line 4: did not find expected key in File: cm.yaml"},
		{name: "bad-nokind", wantMsg: "missing kind in object"},
		{name: "bad-noname", wantMsg: "missing metadata.name in object"},
		{name: "bad-duplicate", wantMsg: "duplicate object apps/Deployment/web"},
		{name: "overlay", dir: "../overlay", wantMsg: `unit path: path "../overlay" escapes the repository`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir
			if dir == "" {
				dir = "app"
			}
			req := reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", tt.name, "repo")), Dir: dir}
			objs, err := New(nil).Generate(t.Context(), req)
			if err == nil {
				t.Fatalf("want an error, got %d objects", len(objs))
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %q is not %v", err, tt.wantIs)
			}
			if tt.wantFile == "" {
				return
			}
			var se *reconcile.SourceError
			if !errors.As(err, &se) {
				t.Fatalf("error %q is not a *reconcile.SourceError", err)
			}
			if se.File != tt.wantFile || se.Line != tt.wantLine {
				t.Errorf("error at %s:%d, want %s:%d", se.File, se.Line, tt.wantFile, tt.wantLine)
			}
		})
	}
}

func TestGenerateDuplicateIsTyped(t *testing.T) {
	req := reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", "bad-duplicate", "repo")), Dir: "app"}
	_, err := New(nil).Generate(t.Context(), req)
	var de *reconcile.DuplicateError
	if !errors.As(err, &de) {
		t.Fatalf("error %v is not a *reconcile.DuplicateError", err)
	}
}
