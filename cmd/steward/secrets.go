package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// secretSpec is one credential steward itself holds: read once at start-up,
// from --NAME-file or else the environment variable, which is then removed
// from the process environment so that no child (generator, command, hook)
// inherits it.
type secretSpec struct {
	env, flag, help string
}

var secretSpecs = []secretSpec{
	{"STEWARD_WEBHOOK_SECRET", "webhook-secret-file", "file holding the secret that authenticates webhooks"},
	{"STEWARD_API_TOKEN", "api-token-file", "file holding the bearer token of the POST API"},
	{"STEWARD_STATUS_TOKEN", "status-token-file", "file holding the token the status page and GET /api/status require (default: the API token)"},
	{"STEWARD_NOTIFY_SECRET", "notify-secret-file", "file holding the secret that signs notifications"},
	{"STEWARD_COMMIT_STATUS_TOKEN", "commit-status-token-file", "file holding the forge token for commit statuses"},
	{"STEWARD_GIT_TOKEN", "git-token-file", "file holding the token for HTTPS repositories"},
	{"STEWARD_GIT_USERNAME", "git-username-file", "file holding the user name for HTTPS repositories"},
	{"STEWARD_GIT_PASSWORD", "git-password-file", "file holding the password for HTTPS repositories"},
	{"STEWARD_PULL_REQUEST_TOKEN", "pull-request-token-file", "file holding the forge token for image-update pull requests"},
}

// secrets are the credentials steward was started with, by variable name.
type secrets struct {
	files  map[string]*string // flag values, by variable
	values map[string]string
}

func (s *secrets) register(fs *pflag.FlagSet) {
	s.files = map[string]*string{}
	for _, sp := range secretSpecs {
		s.files[sp.env] = fs.String(sp.flag, "", sp.help+" (else $"+sp.env+")")
	}
}

// load reads every secret once, a --…-file winning over the environment,
// then scrubs every secret variable from the environment and makes the
// process non-dumpable, so that repository code running as steward's user
// can read neither the environment it inherits nor steward's memory or
// /proc/PID/environ.
func (s *secrets) load() error {
	s.values = map[string]string{}
	for _, sp := range secretSpecs {
		v := os.Getenv(sp.env)
		if f := *s.files[sp.env]; f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return usageError("--%s: %v", sp.flag, err)
			}
			v = strings.TrimRight(string(b), "\r\n")
			if strings.TrimSpace(v) == "" || strings.ContainsAny(v, "\r\n") {
				// Never quote the content: it is a secret.
				return usageError("--%s %s: want one line holding the token", sp.flag, f)
			}
		}
		s.values[sp.env] = v
		if err := os.Unsetenv(sp.env); err != nil {
			return fmt.Errorf("scrub %s: %w", sp.env, err)
		}
	}
	return nonDumpable()
}

// get returns the secret of variable env ("" when not given).
func (s *secrets) get(env string) string { return s.values[env] }
