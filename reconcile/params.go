package reconcile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// ParamEnvName is the environment variable a command generator reads a
// package parameter from: STEWARD_PARAM_ and the name as InputEnvName
// spells it.
func ParamEnvName(name string) string { return "STEWARD_PARAM_" + envName(name) }

// ParamString is a parameter's value as one string: a string as it is,
// anything else as JSON.
func ParamString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// ParamsEnv writes the parameters as JSON to a file in dir (mode 0600)
// and returns the environment a command generator gets:
// STEWARD_PARAM_<NAME> for each top-level parameter and STEWARD_PARAMS
// naming the file. No parameters, no environment.
func ParamsEnv(params map[string]any, dir string) ([]string, error) {
	if len(params) == 0 {
		return nil, nil
	}
	var env []string
	for _, k := range sortedKeys(params) {
		env = append(env, ParamEnvName(k)+"="+ParamString(params[k]))
	}
	b, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("params file: %w", err)
	}
	f, err := os.CreateTemp(dir, "steward-params-*.json")
	if err != nil {
		return nil, fmt.Errorf("params file: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("params file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("params file: %w", err)
	}
	p, _ := filepath.Abs(f.Name())
	return append(env, "STEWARD_PARAMS="+p), nil
}
