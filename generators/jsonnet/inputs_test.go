package jsonnet

import (
	"os"
	"strings"
	"testing"

	"github.com/stewardhq/steward/reconcile"
)

// Inputs are ext vars by name; one that an ext var of the spec also names is
// an error, not a silent override.
func TestGenerateInputs(t *testing.T) {
	req := reconcile.GenerateRequest{Tree: os.DirFS("testdata/inputs"), Dir: ".", Inputs: reconcile.Inputs{"dbHost": {Value: "10.0.0.5"}}}
	objs, err := New(&reconcile.JsonnetGenerator{File: "main.jsonnet"}).Generate(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := objs[0].Object["data"].(map[string]any)["dbHost"]; got != "10.0.0.5" {
		t.Errorf("dbHost = %v", got)
	}
	_, err = New(&reconcile.JsonnetGenerator{File: "main.jsonnet", ExtVars: map[string]string{"dbHost": "x"}}).Generate(t.Context(), req)
	if err == nil || !strings.Contains(err.Error(), "ext var dbHost is also an input") {
		t.Errorf("error = %v", err)
	}
}
