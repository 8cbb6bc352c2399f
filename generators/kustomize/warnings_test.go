package kustomize

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// An object that is not valid is reported at the repository file it came
// from, with its kind and name, not at a line of the built stream.
func TestErrorNamesSourceFile(t *testing.T) {
	req := reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", "bad-noapiversion", "repo")), Dir: "app"}
	_, err := New(nil).Generate(t.Context(), req)
	var se *reconcile.SourceError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *reconcile.SourceError", err)
	}
	if se.File != "base/deploy.yaml" {
		t.Errorf("error at %q, want base/deploy.yaml: %v", se.File, err)
	}
	for _, w := range []string{"Deployment web", "apiVersion"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
	if !errors.Is(err, reconcile.ErrMissingField) {
		t.Errorf("error %v is not reconcile.ErrMissingField", err)
	}
}

// kustomize's warnings reach steward's logger, as JSON when it logs JSON,
// naming the kustomization file and line; nothing is printed to stderr.
func TestWarningsThroughLogger(t *testing.T) {
	stderr, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = stderr
	var logged bytes.Buffer
	req := reconcile.GenerateRequest{Tree: os.DirFS(filepath.Join("testdata", "deprecated", "repo")), Dir: "app",
		Logger: slog.New(slog.NewJSONHandler(&logged, nil)).With("unit", "u")}
	objs, err := New(nil).Generate(t.Context(), req)
	os.Stderr = saved
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].GetLabels()["team"] != "web" {
		t.Errorf("objects %v, want the labelled ConfigMap", objs)
	}
	if out, _ := os.ReadFile(stderr.Name()); len(out) > 0 {
		t.Errorf("kustomize wrote to stderr:\n%s", out)
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimSpace(logged.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		if rec["unit"] != "u" {
			t.Errorf("log line %q lacks the unit", line)
		}
		msgs = append(msgs, line)
	}
	all := strings.Join(msgs, "\n")
	for _, w := range []string{
		`"file":"app/kustomization.yaml","line":1,"field":"bases","use":"resources"`,
		`"file":"app/kustomization.yaml","line":3,"field":"commonLabels","use":"labels"`,
		`"field":"vars","use":"replacements"`,
		`well-defined vars that were never replaced: UNUSED`,
	} {
		if !strings.Contains(all, w) {
			t.Errorf("log lacks %s:\n%s", w, all)
		}
	}
}
