package yaml

import (
	"context"
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
		wantFile string // SourceError.File, "" when the error is not a SourceError
		wantLine int
		wantMsg  string
		wantIs   error
	}{
		{name: "bad-malformed", dir: "m", wantFile: "m/b.yaml", wantLine: 4, wantMsg: "m/b.yaml:4: did not find expected key"},
		{name: "bad-nokind", dir: "m", wantFile: "m/a.yaml", wantLine: 5, wantMsg: "object has no kind", wantIs: reconcile.ErrMissingField},
		{name: "bad-noname", dir: "m", wantFile: "m/a.yaml", wantLine: 1, wantMsg: "ConfigMap has no metadata.name", wantIs: reconcile.ErrMissingField},
		{name: "bad-generatename", dir: "m", wantFile: "m/a.yaml", wantLine: 1, wantMsg: "Job migrate-* cannot be applied: uses generateName", wantIs: reconcile.ErrMissingField},
		{name: "bad-notobject", dir: "m", wantFile: "m/a.yaml", wantLine: 5, wantMsg: "document is a list"},
		{name: "bad-duplicate", dir: "m", wantMsg: "duplicate object apps/Deployment/prod/web"},
		{name: "multidoc", dir: "missing", wantMsg: "unit path", wantIs: os.ErrNotExist},
		{name: "multidoc", dir: "manifests/app.yaml", wantMsg: "is not a directory"},
		{name: "multidoc", dir: "../multidoc", wantMsg: "escapes the repository"},
		{name: "multidoc", dir: "/etc", wantMsg: "is absolute"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+tt.dir, func(t *testing.T) {
			req := reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", tt.name, "repo")), Dir: tt.dir}
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
			var se *reconcile.SourceError
			if tt.wantFile == "" {
				return
			}
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
	req := reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", "bad-duplicate", "repo")), Dir: "m"}
	_, err := New(nil).Generate(t.Context(), req)
	var de *reconcile.DuplicateError
	if !errors.As(err, &de) {
		t.Fatalf("error %v is not a *reconcile.DuplicateError", err)
	}
	want := reconcile.ObjectID{Group: "apps", Kind: "Deployment", Namespace: "prod", Name: "web"}
	if de.ID != want {
		t.Errorf("duplicate %v, want %v", de.ID, want)
	}
}

func TestGenerateCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	req := reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", "multidoc", "repo")), Dir: "manifests"}
	if _, err := New(nil).Generate(ctx, req); !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
}
