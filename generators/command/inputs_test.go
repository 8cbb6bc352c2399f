package command_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stewardhq/steward/generators/command"
	"github.com/stewardhq/steward/reconcile"
)

// Inputs reach the command as STEWARD_INPUT_<NAME> and as JSON in the file
// STEWARD_INPUTS names, which is gone after the run.
func TestGenerateInputs(t *testing.T) {
	needSh(t)
	tmpdir := t.TempDir()
	t.Setenv("TMPDIR", tmpdir)
	req := request(t, "inputs")
	req.Inputs = reconcile.Inputs{
		"db-host": {Value: "10.0.0.5", From: reconcile.InputRef{Unit: "db", Output: "address"}},
		"ip":      {Value: "10.96.0.7", From: reconcile.InputRef{Unit: "svc", Output: "ip"}},
	}
	objs, err := command.New(&reconcile.CommandGenerator{Run: []string{"./gen.sh"}}).Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	data := objs[0].Object["data"].(map[string]any)
	if data["dbHost"] != "10.0.0.5" || data["ip"] != "10.96.0.7" {
		t.Errorf("environment inputs: %v", data)
	}
	if want := `{"db-host":"10.0.0.5","ip":"10.96.0.7"}`; data["json"] != want {
		t.Errorf("STEWARD_INPUTS file = %v, want %s", data["json"], want)
	}
	tmp, _ := os.ReadDir(tmpdir)
	for _, e := range tmp {
		if strings.HasPrefix(e.Name(), "steward-inputs-") {
			t.Errorf("inputs directory %s left behind", e.Name())
		}
	}
}

func TestInputEnvName(t *testing.T) {
	for in, want := range map[string]string{"dbHost": "STEWARD_INPUT_DBHOST", "db-host": "STEWARD_INPUT_DB_HOST", "a.b_c9": "STEWARD_INPUT_A_B_C9"} {
		if got := reconcile.InputEnvName(in); got != want {
			t.Errorf("InputEnvName(%q) = %q, want %q", in, got, want)
		}
	}
}
