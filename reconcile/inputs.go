package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// InputValue is the value an input has for one generation.
type InputValue struct {
	Value     string
	Sensitive bool
	// Example marks a value taken from the output's example: (offline
	// generation).
	Example bool
	From    InputRef
}

// Inputs are a unit's inputs by name, as its generator gets them.
type Inputs map[string]InputValue

// Values returns the inputs as name: value.
func (in Inputs) Values() map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v.Value
	}
	return out
}

// Digest identifies the values (part of the generation cache key); "" for
// no inputs.
func (in Inputs) Digest() string {
	if len(in) == 0 {
		return ""
	}
	b, _ := json.Marshal(in.Values()) // sorted keys
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Secrets returns the values of sensitive inputs.
func (in Inputs) Secrets() []string {
	var out []string
	for _, k := range sortedKeys(in) {
		if v := in[k]; v.Sensitive && v.Value != "" {
			out = append(out, v.Value)
		}
	}
	return out
}

// InputEnvName is the environment variable a command generator reads an
// input from: STEWARD_INPUT_ and the name upper-cased, every other
// character than a letter or digit as '_'.
func InputEnvName(name string) string { return "STEWARD_INPUT_" + envName(name) }

// envName is name upper-cased, every other character than a letter or
// digit as '_'.
func envName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		case 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
			return r
		}
		return '_'
	}, name)
}

// InputsEnv writes the inputs as JSON to a file in dir (mode 0600) and
// returns the environment a command generator gets: STEWARD_INPUT_<NAME>
// for each input and STEWARD_INPUTS naming the file. No inputs, no
// environment.
func InputsEnv(in Inputs, dir string) ([]string, error) {
	if len(in) == 0 {
		return nil, nil
	}
	var env []string
	for _, k := range sortedKeys(in) {
		env = append(env, InputEnvName(k)+"="+in[k].Value)
	}
	b, err := json.Marshal(in.Values())
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "steward-inputs-*.json")
	if err != nil {
		return nil, fmt.Errorf("inputs file: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, fmt.Errorf("inputs file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("inputs file: %w", err)
	}
	p, _ := filepath.Abs(f.Name())
	return append(env, "STEWARD_INPUTS="+p), nil
}

// InputError is a unit that cannot be generated because an input has no
// value: no output recorded live and, offline, no example.
type InputError struct {
	Unit  string
	Input string
	From  InputRef
	// Offline is set for offline generation (no live outputs).
	Offline bool
	Err     error // why the output has no value, when known
}

func (e *InputError) Error() string {
	var s string
	if e.Offline {
		s = fmt.Sprintf("not generated: input %s: output %s has no example: value and no live value was read", e.Input, e.From)
	} else {
		s = fmt.Sprintf("not generated: input %s: output %s is not recorded yet", e.Input, e.From)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *InputError) Unwrap() error { return e.Err }

// OutputSource gives the recorded outputs of a unit by name; ok is false
// when none are known. err explains why an output is missing (a failed
// probe), when known.
type OutputSource func(unit string) (outs map[string]OutputValue, err error)

// InputResolver returns the inputs of u, or an *InputError.
type InputResolver func(u *Unit) (Inputs, error)

// ResolveInputs returns a resolver reading live outputs from live (nil:
// none) and, when examples is set, falling back to each output's example:
// for offline generation. A value that is neither is an *InputError; an
// input is never the empty string by default.
func ResolveInputs(stack *Stack, live OutputSource, examples bool) InputResolver {
	return func(u *Unit) (Inputs, error) {
		if len(u.Inputs) == 0 {
			return nil, nil
		}
		out := make(Inputs, len(u.Inputs))
		for _, name := range u.InputNames() {
			ref, _ := ParseInputRef(u.Inputs[name])
			from := stack.Unit(ref.Unit)
			if from == nil {
				return nil, &InputError{Unit: u.Name, Input: name, From: ref, Offline: live == nil}
			}
			spec := from.Outputs[ref.Output]
			v := InputValue{From: ref, Sensitive: spec.IsSensitive()}
			var why error
			found := false
			if live != nil {
				outs, err := live(ref.Unit)
				if ov, ok := outs[ref.Output]; ok && ov.Value != "" {
					v.Value, v.Sensitive, found = ov.Value, v.Sensitive || ov.Sensitive, true
				} else {
					why = err
				}
			}
			switch {
			case found || !examples:
			case spec.Value != nil: // a literal is the same offline
				v.Value, found = *spec.Value, true
			case spec.Example != nil:
				v.Value, v.Example, found = *spec.Example, true, true
			}
			if !found {
				return nil, &InputError{Unit: u.Name, Input: name, From: ref, Offline: live == nil, Err: why}
			}
			out[name] = v
		}
		return out, nil
	}
}

// SecretInputError is a generated object holding a sensitive input's value
// where no printer masks it (anything but a Secret or a sensitive File).
type SecretInputError struct {
	Input  string
	Object ObjectID
}

func (e *SecretInputError) Error() string {
	return fmt.Sprintf("input %s is sensitive and %s holds its value where it would be shown: put it in a Secret or a File with sensitive: true", e.Input, e.Object)
}

// checkSecretInputs refuses objects that carry a sensitive input's value
// outside what every printer masks, so the value is never shown by build,
// diff, verify or status.
func checkSecretInputs(objs []*Object, in Inputs) error {
	if len(in.Secrets()) == 0 {
		return nil
	}
	for _, o := range objs {
		if IsSensitive(o) {
			continue
		}
		for _, name := range sortedKeys(in) {
			v := in[name]
			if v.Sensitive && v.Value != "" && holds(o.Object, v.Value) {
				return &SecretInputError{Input: name, Object: IDOf(o)}
			}
		}
	}
	return nil
}

func holds(v any, s string) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, s)
	case map[string]any:
		for _, e := range x {
			if holds(e, s) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if holds(e, s) {
				return true
			}
		}
	}
	return false
}
