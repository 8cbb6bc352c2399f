package local

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/stewardhq/steward/targets/machine"
)

// Host is the host name of a local target.
const Host = "local"

// NewTarget returns a machine target for this host with every path under
// root (a directory of this host; relative to the working directory when
// relative). name is the target's name in the stack; logger (nil discards)
// receives its progress.
func NewTarget(name, root string, logger *slog.Logger) *machine.Target {
	cfg := machine.DefaultConfig(Host)
	cfg.Name = name
	if logger != nil {
		cfg.Logger = logger
	}
	return machine.New(cfg, Dialer(map[string]string{Host: root}, nil))
}

// Dialer returns a machine.Dialer of local Transports: each host is a
// directory of this machine (roots maps host to directory). env is added
// to every command's environment.
//
// The transports it dials share what they have read: a file found holding
// the wanted content is not read again while the file system shows it
// unchanged (see MatchFile).
func Dialer(roots map[string]string, env map[string]string) machine.Dialer {
	return dialer(roots, env, newSeenFiles())
}

func dialer(roots map[string]string, env map[string]string, seen *seenFiles) machine.Dialer {
	return func(_ context.Context, host string) (machine.Transport, error) {
		root, ok := roots[host]
		if !ok {
			return nil, fmt.Errorf("local host %q has no root", host)
		}
		t, err := newTransport(host, root, env, seen)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
}
