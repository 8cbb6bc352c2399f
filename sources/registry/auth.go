package registry

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// dockerConfig is the part of a docker config.json steward reads.
type dockerConfig struct {
	Auths       map[string]authn.AuthConfig `json:"auths"`
	CredsStore  string                      `json:"credsStore"`
	CredHelpers map[string]string           `json:"credHelpers"`
}

// keychain resolves credentials from a docker config.json's "auths". It
// runs no credential helper.
type keychain struct {
	auths map[string]authn.AuthConfig // by normalised registry host
}

var _ authn.Keychain = (*keychain)(nil)

// loadKeychain reads path. A missing file is anonymous access when the
// path was not given explicitly. Errors name the file, never its content.
func loadKeychain(path string, explicit bool) (*keychain, []string, error) {
	k := &keychain{auths: map[string]authn.AuthConfig{}}
	if path == "" {
		return k, nil, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && !explicit {
		return k, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("registry config: %w", err)
	}
	var cfg dockerConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, nil, fmt.Errorf("registry config %s: not valid JSON (at byte %d)", path, se.Offset)
		}
		return nil, nil, fmt.Errorf("registry config %s: not a docker config.json", path)
	}
	var notes []string
	if cfg.CredsStore != "" || len(cfg.CredHelpers) > 0 {
		notes = append(notes, "credential helpers (credsStore, credHelpers) are not run; only auths entries are used")
	}
	for key, a := range cfg.Auths {
		if a.Auth != "" && a.Username == "" && a.Password == "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			user, pass, ok := strings.Cut(string(raw), ":")
			if err != nil || !ok {
				return nil, nil, fmt.Errorf("registry config %s: auths entry %q: auth is not base64 user:password", path, registryHost(key))
			}
			a.Username, a.Password, a.Auth = user, pass, ""
		}
		k.auths[registryHost(key)] = a
	}
	return k, notes, nil
}

// Resolve returns the credentials for the resource's registry, or
// anonymous.
func (k *keychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	host := registryHost(r.RegistryStr())
	if a, ok := k.auths[host]; ok {
		return authn.FromConfig(a), nil
	}
	return authn.Anonymous, nil
}

// registryHost normalises a config key or registry name: no scheme, no
// path, and Docker Hub's many names as index.docker.io.
func registryHost(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	switch s {
	case "docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return "index.docker.io"
	}
	return s
}
