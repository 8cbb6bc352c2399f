package reconcile

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
)

// OutputValue is one recorded output.
type OutputValue struct {
	Value     string `json:"value"`
	Sensitive bool   `json:"sensitive,omitempty"`
	// Example marks a value taken from the stack's example: (offline
	// generation), never a recorded one.
	Example bool `json:"example,omitempty"`
	// Spec digests the declaration it was recorded from: a random value is
	// kept while its declaration is unchanged.
	Spec string `json:"spec"`
}

// Shown is the value as status and logs may print it: masked when
// sensitive, marked when an example.
func (v OutputValue) Shown() string {
	s := v.Value
	if v.Sensitive {
		s = MaskSame
	}
	if v.Example {
		s += " (example)"
	}
	return s
}

// OutputStore is the optional interface of a Target (found by type
// assertion) that reads the outputs of a unit it applied and keeps them with
// the unit's inventory on the target, so steward keeps no local state.
type OutputStore interface {
	// ReadOutputs returns the outputs recorded for unit, nil when none.
	ReadOutputs(ctx context.Context, unit string) (map[string]OutputValue, error)
	// ResolveOutput reads one output of u the target knows how to read
	// (jsonPath on Kubernetes, fact and probe on machines).
	ResolveOutput(ctx context.Context, u *Unit, name string, spec OutputSpec) (string, error)
	// WriteOutputs replaces the outputs recorded for unit.
	WriteOutputs(ctx context.Context, unit string, outs map[string]OutputValue) error
}

// UnitOutputError is an output that could not be recorded.
type UnitOutputError struct {
	Unit, Output string
	Err          error
}

func (e *UnitOutputError) Error() string {
	return fmt.Sprintf("output %s.%s: %v", e.Unit, e.Output, e.Err)
}
func (e *UnitOutputError) Unwrap() error { return e.Err }

// ErrNoOutputStore is returned when a unit declares outputs its target
// cannot keep.
var ErrNoOutputStore = errors.New("target cannot record outputs")

func specDigest(o OutputSpec) string {
	o.Example = nil // an example changes nothing live
	b, _ := json.Marshal(o)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// RecordOutputs resolves every output of u after a successful apply and
// stores them on t: literals as written, random values generated once and
// read back from the store on later passes, the rest through
// t.ResolveOutput. Outputs that resolved are stored even when others failed;
// the failures are returned, each an *UnitOutputError.
func RecordOutputs(ctx context.Context, t Target, u *Unit) (map[string]OutputValue, error) {
	if len(u.Outputs) == 0 {
		return nil, nil
	}
	st, ok := t.(OutputStore)
	if !ok {
		return nil, &UnitOutputError{Unit: u.Name, Output: sortedKeys(u.Outputs)[0], Err: ErrNoOutputStore}
	}
	prev, err := st.ReadOutputs(ctx, u.Name)
	if err != nil {
		return nil, fmt.Errorf("read outputs of %s: %w", u.Name, err)
	}
	out := make(map[string]OutputValue, len(u.Outputs))
	var errs Errors
	for _, name := range sortedKeys(u.Outputs) {
		spec := u.Outputs[name]
		v := OutputValue{Sensitive: spec.IsSensitive(), Spec: specDigest(spec)}
		switch {
		case spec.Value != nil:
			v.Value = *spec.Value
		case spec.Random != nil:
			if p, ok := prev[name]; ok && p.Spec == v.Spec && p.Value != "" {
				v.Value = p.Value
				break
			}
			s, err := randomString(spec.Random.Length)
			if err != nil {
				errs = append(errs, &UnitOutputError{Unit: u.Name, Output: name, Err: err})
				continue
			}
			v.Value = s
		default:
			s, err := st.ResolveOutput(ctx, u, name, spec)
			if err == nil && s == "" {
				err = errors.New("empty value")
			}
			if err != nil {
				errs = append(errs, &UnitOutputError{Unit: u.Name, Output: name, Err: err})
				continue
			}
			v.Value = s
		}
		out[name] = v
	}
	if err := st.WriteOutputs(ctx, u.Name, out); err != nil {
		return nil, fmt.Errorf("write outputs of %s: %w", u.Name, err)
	}
	if len(errs) > 0 {
		return out, errs
	}
	return out, nil
}

const randomAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomString(n int) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(randomAlphabet)))
	for i := range b {
		k, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("random: %w", err)
		}
		b[i] = randomAlphabet[k.Int64()]
	}
	return string(b), nil
}
