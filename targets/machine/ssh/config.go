package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/stewardhq/steward/targets/machine"
)

// Config says how to reach and trust one host.
type Config struct {
	// Addr is "host:port"; a missing port is 22.
	Addr string
	// User is the remote user (default: the local user).
	User string
	// KeyFile is a private key file (OpenSSH, PEM or PKCS#8).
	KeyFile string
	// Passphrase decrypts KeyFile when it is encrypted.
	Passphrase []byte
	// Signers are further client keys, tried after KeyFile.
	Signers []gossh.Signer
	// UseAgent adds the keys of the agent at $SSH_AUTH_SOCK.
	UseAgent bool
	// KnownHostsFile lists the trusted host keys (OpenSSH known_hosts
	// format, hashed names and @revoked markers understood).
	KnownHostsFile string
	// PinnedFingerprints, when set, are the only acceptable host keys
	// ("SHA256:..." as ssh-keygen -l prints). With KnownHostsFile too, the
	// key must pass both.
	PinnedFingerprints []string
	// Sudo runs commands and file operations as root through `sudo -n`.
	Sudo bool
	// SFTPServer is the sftp-server binary started under sudo ("" tries the
	// usual Debian, Red Hat and Arch paths).
	SFTPServer string
	// Timeout bounds connecting and the SSH handshake (default 15s).
	Timeout time.Duration
	// MaxOutput bounds the stdout and the stderr kept of one command; the
	// rest is dropped (default 1 MiB each).
	MaxOutput int
	// MaxSessions bounds concurrent command sessions on the connection
	// (default 8; OpenSSH allows 10 sessions per connection).
	MaxSessions int
	// Name names the host in reports (default Addr).
	Name string
}

// DefaultConfig returns a Config for the local user with ~/.ssh/known_hosts.
func DefaultConfig() Config {
	c := Config{Timeout: 15 * time.Second, MaxOutput: 1 << 20, MaxSessions: 8}
	if u, err := user.Current(); err == nil {
		c.User = u.Username
	}
	if home, err := os.UserHomeDir(); err == nil {
		c.KnownHostsFile = filepath.Join(home, ".ssh", "known_hosts")
	}
	return c
}

// ErrNoHostKeyCheck is returned by Dial when neither a known_hosts file nor
// pinned fingerprints say which host keys to trust.
var ErrNoHostKeyCheck = errors.New("no known_hosts file or pinned fingerprints: refusing to trust any host key")

// validate fills defaults and checks the config once.
func (c Config) validate() (Config, error) {
	d := DefaultConfig()
	if c.Addr == "" {
		return c, errors.New("ssh config: addr is empty")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		c.Addr = net.JoinHostPort(strings.Trim(c.Addr, "[]"), "22")
	}
	if c.User == "" {
		c.User = d.User
	}
	if c.Timeout <= 0 {
		c.Timeout = d.Timeout
	}
	if c.MaxOutput <= 0 {
		c.MaxOutput = d.MaxOutput
	}
	if c.MaxSessions <= 0 {
		c.MaxSessions = d.MaxSessions
	}
	if c.Name == "" {
		c.Name = c.Addr
	}
	if c.KnownHostsFile == "" && len(c.PinnedFingerprints) == 0 {
		return c, fmt.Errorf("ssh %s: %w", c.Addr, ErrNoHostKeyCheck)
	}
	for _, fp := range c.PinnedFingerprints {
		if !strings.HasPrefix(fp, "SHA256:") {
			return c, fmt.Errorf("ssh %s: pinned fingerprint %q: want SHA256:... as ssh-keygen -l prints", c.Addr, fp)
		}
	}
	if c.KeyFile == "" && len(c.Signers) == 0 && !c.UseAgent {
		return c, fmt.Errorf("ssh %s: no client key: set a key file, signers or the agent", c.Addr)
	}
	return c, nil
}

// signers loads the client keys. Errors name the key file, never its
// content or the passphrase.
func (c Config) signers() ([]gossh.Signer, func(), error) {
	var out []gossh.Signer
	closeFn := func() {}
	if c.KeyFile != "" {
		pem, err := os.ReadFile(c.KeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("read key file: %w", err)
		}
		var s gossh.Signer
		if len(c.Passphrase) > 0 {
			s, err = gossh.ParsePrivateKeyWithPassphrase(pem, c.Passphrase)
		} else {
			s, err = gossh.ParsePrivateKey(pem)
		}
		clear(pem)
		var missing *gossh.PassphraseMissingError
		switch {
		case errors.As(err, &missing):
			return nil, nil, fmt.Errorf("key file %s is encrypted: set a passphrase or use the agent", c.KeyFile)
		case err != nil:
			// The parser's own message could quote the input; keep only
			// that the file is unusable.
			return nil, nil, fmt.Errorf("key file %s: not a usable private key (or wrong passphrase)", c.KeyFile)
		}
		out = append(out, s)
	}
	out = append(out, c.Signers...)
	if c.UseAgent {
		sock := os.Getenv("SSH_AUTH_SOCK")
		if sock == "" {
			return nil, nil, errors.New("ssh agent: SSH_AUTH_SOCK is not set")
		}
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return nil, nil, fmt.Errorf("ssh agent: %w", err)
		}
		ss, err := agent.NewClient(conn).Signers()
		if err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("ssh agent: %w", err)
		}
		out = append(out, ss...)
		closeFn = func() { conn.Close() }
	}
	return out, closeFn, nil
}

// Dialer returns the function the machine target calls for each host of a
// `machines:` target: base gives the user and options; base.KeyFile is the
// target's credentials name, a file directly under credentialsDir; host
// keys are checked against knownHosts ("" keeps base.KnownHostsFile).
func Dialer(base Config, credentialsDir, knownHosts string) func(ctx context.Context, host string) (machine.Transport, error) {
	return func(ctx context.Context, host string) (machine.Transport, error) {
		cfg := base
		cfg.Addr = host
		cfg.Name = host
		if knownHosts != "" {
			cfg.KnownHostsFile = knownHosts
		}
		if cfg.KeyFile != "" {
			name := cfg.KeyFile
			if name != filepath.Base(name) || name == "." || name == ".." {
				return nil, fmt.Errorf("credentials %q: want a file name under the credentials directory", name)
			}
			cfg.KeyFile = filepath.Join(credentialsDir, name)
		}
		t, err := Dial(ctx, cfg)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
}
