package jsonnet

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gojsonnet "github.com/google/go-jsonnet"

	"github.com/stewardhq/steward/reconcile"
)

func TestGenerateBadInput(t *testing.T) {
	tests := []struct {
		name     string
		spec     *reconcile.JsonnetGenerator
		wantFile string
		wantLine int
		wantMsg  string
		wantIs   error
	}{
		{name: "bad-runtime", wantFile: "lib/checks.libsonnet", wantLine: 3, wantMsg: "lib/checks.libsonnet:3: replicas must be > 1, got 1 (called from u/main.jsonnet:7"},
		{name: "bad-field", wantFile: "u/main.jsonnet", wantLine: 6, wantMsg: "u/main.jsonnet:6: Field does not exist: b"},
		{name: "bad-syntax", wantFile: "u/main.jsonnet", wantLine: 4, wantMsg: "u/main.jsonnet:4: Expected a comma before next field"},
		{name: "bad-import-missing", wantFile: "u/main.jsonnet", wantLine: 2, wantMsg: `import "nowhere.libsonnet": file does not exist in u/, lib/, vendor/`},
		{name: "bad-import-outside", wantFile: "u/main.jsonnet", wantLine: 1, wantMsg: `import "../../outside.txt" leaves the repository`},
		{name: "bad-import-absolute", wantFile: "u/main.jsonnet", wantLine: 3, wantMsg: `import "/etc/hostname": absolute paths are refused`},
		{name: "bad-nokind", wantFile: "u/main.jsonnet", wantMsg: "object at .app.thing has no kind", wantIs: reconcile.ErrMissingField},
		{name: "bad-noname", wantFile: "u/main.jsonnet", wantMsg: "ConfigMap at [0] has no metadata.name", wantIs: reconcile.ErrMissingField},
		{name: "bad-leaf", wantFile: "u/main.jsonnet", wantMsg: `output .app["my-config"].name is a string, not an object`},
		{name: "bad-duplicate", wantMsg: "duplicate object ConfigMap/a/same"},
		{name: "single", spec: &reconcile.JsonnetGenerator{File: "nope.jsonnet"}, wantFile: "u/nope.jsonnet", wantMsg: "u/nope.jsonnet: file does not exist", wantIs: fs.ErrNotExist},
		{name: "single", spec: &reconcile.JsonnetGenerator{File: "../../x.jsonnet"}, wantMsg: "jsonnet file \"../../x.jsonnet\": path \"../x.jsonnet\" escapes the repository"},
		{name: "single", spec: &reconcile.JsonnetGenerator{File: "/etc/x.jsonnet"}, wantMsg: "jsonnet file \"/etc/x.jsonnet\" is absolute"},
		{name: "single", spec: &reconcile.JsonnetGenerator{File: "app.jsonnet", JPath: []string{"/usr/share/jsonnet"}}, wantMsg: "jpath[0]: path \"/usr/share/jsonnet\" is absolute"},
		{name: "vars", spec: &reconcile.JsonnetGenerator{File: "../unit/main.jsonnet"}, wantFile: "unit/main.jsonnet", wantMsg: "Missing argument: name"},
		{name: "vars", spec: &reconcile.JsonnetGenerator{TLAs: map[string]string{"name": "x"}, ExtCode: map[string]string{"replicas": "1", "debug": "true"}}, wantFile: "unit/main.jsonnet", wantLine: 6, wantMsg: "Undefined external variable: env"},
		{name: "vars", spec: &reconcile.JsonnetGenerator{TLAs: map[string]string{"name": "x"}, ExtVars: map[string]string{"env": "a", "debug": "b"}, ExtCode: map[string]string{"replicas": "{"}}, wantFile: "unit/main.jsonnet", wantMsg: "<extvar:replicas>:1:2 Unexpected: end of file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := "u"
			if tt.name == "vars" {
				dir = "unit"
			}
			req := reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", tt.name, "repo")), Dir: dir}
			objs, err := New(tt.spec).Generate(t.Context(), req)
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

// TestRuntimeErrorKeepsJsonnetError checks that callers can still reach
// go-jsonnet's own error value.
func TestRuntimeErrorKeepsJsonnetError(t *testing.T) {
	req := reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", "bad-syntax", "repo")), Dir: "u"}
	_, err := New(nil).Generate(t.Context(), req)
	var se *StaticError
	if !errors.As(err, &se) || se.Err == nil {
		t.Fatalf("error %v is not a *StaticError", err)
	}
	var rt gojsonnet.RuntimeError
	if errors.As(err, &rt) {
		t.Fatalf("a parse error is not a runtime error: %v", err)
	}
}

func TestGenerateDuplicateIsTyped(t *testing.T) {
	req := reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", "bad-duplicate", "repo")), Dir: "u"}
	_, err := New(nil).Generate(t.Context(), req)
	var de *reconcile.DuplicateError
	if !errors.As(err, &de) {
		t.Fatalf("error %v is not a *reconcile.DuplicateError", err)
	}
}
