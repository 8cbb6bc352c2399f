package machine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/stewardhq/steward/reconcile"
)

// A unit's outputs are kept on its hosts beside its inventory, in
// InventoryDir/outputs/UNIT.json (mode 0600: some are sensitive). They are
// written to every host and read from the first host that has them; facts
// and probes are read on the target's first host.

// DefaultProbeTimeout bounds an output probe without a timeout of its own.
const DefaultProbeTimeout = 10 * time.Second

var _ reconcile.OutputStore = (*Target)(nil)

func outputsPath(h *host, unit string) string {
	return h.path(path.Join(InventoryDir, "outputs", unit+".json"))
}

// ReadOutputs returns the outputs recorded for unit, nil when none.
func (t *Target) ReadOutputs(ctx context.Context, unit string) (map[string]reconcile.OutputValue, error) {
	if !unitFileName.MatchString(unit) {
		return nil, fmt.Errorf("machine target: unit name %q cannot name an outputs file", unit)
	}
	var errs []error
	for _, name := range t.cfg.Hosts {
		out, err := t.readOutputs(ctx, name, unit)
		if err == nil {
			return out, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		errs = append(errs, fmt.Errorf("%s: %w", name, err))
	}
	if len(errs) == len(t.cfg.Hosts) {
		return nil, errors.Join(errs...)
	}
	return nil, nil
}

func (t *Target) readOutputs(ctx context.Context, name, unit string) (map[string]reconcile.OutputValue, error) {
	tr, err := t.dial(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer tr.Close()
	h := t.host(tr, name)
	p := outputsPath(h, unit)
	data, err := tr.ReadFile(ctx, p)
	if err != nil {
		return nil, err
	}
	var out map[string]reconcile.OutputValue
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("outputs %s: %w", p, err)
	}
	return out, nil
}

// WriteOutputs stores the outputs on every host; it fails only when no host
// took them.
func (t *Target) WriteOutputs(ctx context.Context, unit string, outs map[string]reconcile.OutputValue) error {
	if !unitFileName.MatchString(unit) {
		return fmt.Errorf("machine target: unit name %q cannot name an outputs file", unit)
	}
	data, err := json.Marshal(outs)
	if err != nil {
		return err
	}
	errs := make([]error, len(t.cfg.Hosts))
	t.forHosts(ctx, len(t.cfg.Hosts), func(ctx context.Context, i int) {
		name := t.cfg.Hosts[i]
		tr, err := t.dial(ctx, name)
		if err != nil {
			errs[i] = fmt.Errorf("%s: connect: %w", name, err)
			return
		}
		defer tr.Close()
		h := t.host(tr, name)
		p := outputsPath(h, unit)
		if err := h.mkdirParents(ctx, p); err != nil {
			errs[i] = fmt.Errorf("%s: %w", name, err)
			return
		}
		if err := tr.WriteFile(ctx, p, bytes.NewReader(data), FileAttrs{Mode: 0o600, UID: -1, GID: -1}); err != nil {
			errs[i] = fmt.Errorf("%s: write %s: %w", name, p, err)
		}
	})
	for _, err := range errs {
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("write outputs of %s: %w", unit, errors.Join(errs...))
}

// ResolveOutput reads a fact or runs a probe on the target's first host. A
// probe is bounded by its timeout, runs without a shell, and its trimmed
// stdout is the value; a non-zero exit is an error naming its stderr.
func (t *Target) ResolveOutput(ctx context.Context, u *reconcile.Unit, name string, spec reconcile.OutputSpec) (string, error) {
	if len(t.cfg.Hosts) == 0 {
		return "", errors.New("machine target has no hosts")
	}
	hostName := t.cfg.Hosts[0]
	tr, err := t.dial(ctx, hostName)
	if err != nil {
		return "", fmt.Errorf("%s: connect: %w", hostName, err)
	}
	defer tr.Close()
	h := t.host(tr, hostName)
	switch {
	case spec.Fact != "":
		facts, err := h.gatherFacts(ctx)
		if err != nil {
			return "", fmt.Errorf("%s: %w", hostName, err)
		}
		v, ok := facts[spec.Fact]
		if !ok || v == "" {
			return "", fmt.Errorf("%s: no fact %q", hostName, spec.Fact)
		}
		return v, nil
	case len(spec.Probe) > 0:
		timeout := spec.Timeout.Or(DefaultProbeTimeout)
		pctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		res, err := h.run(pctx, spec.Probe...)
		if pctx.Err() == context.DeadlineExceeded {
			return "", fmt.Errorf("%s: probe %s did not finish within %s", hostName, strings.Join(spec.Probe, " "), timeout)
		}
		if err != nil {
			return "", fmt.Errorf("%s: probe: %w", hostName, err)
		}
		if err := exitError(spec.Probe, res); err != nil {
			return "", fmt.Errorf("%s: probe: %w", hostName, err)
		}
		v := strings.TrimSpace(string(res.Stdout))
		if v == "" {
			return "", fmt.Errorf("%s: probe %s printed nothing", hostName, strings.Join(spec.Probe, " "))
		}
		return v, nil
	}
	return "", fmt.Errorf("a machine target records fact and probe outputs, not %s", spec.Kind())
}

type inputsKey struct{}

// withInputs carries a request's inputs to the File templates planned
// under ctx.
func withInputs(ctx context.Context, in reconcile.Inputs) context.Context {
	if len(in) == 0 {
		return ctx
	}
	return context.WithValue(ctx, inputsKey{}, in)
}

func inputsOf(ctx context.Context) reconcile.Inputs {
	in, _ := ctx.Value(inputsKey{}).(reconcile.Inputs)
	return in
}

// usesSecretInput reports whether a File template may hold a sensitive
// input: its content is then hidden from diffs like a sensitive File's,
// whether or not the File says so.
func (r *fileRes) usesSecretInput(ctx context.Context) bool {
	if !r.spec.Template || r.spec.Content == nil {
		return false
	}
	return len(inputsOf(ctx).Secrets()) > 0 && strings.Contains(*r.spec.Content, ".Inputs")
}
