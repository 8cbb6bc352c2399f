package git

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/skeema/knownhosts"
	"golang.org/x/crypto/ssh"

	"github.com/stewardhq/steward/reconcile"
)

// Auth holds the credentials for the remote. Which fields apply depends on
// the URL's scheme; none of them ever appears in an error or a log line.
type Auth struct {
	// Username and Password are HTTP(S) basic credentials. For a token,
	// set Token instead (or Password with any Username).
	Username, Password string
	// Token is an HTTP(S) bearer token, sent as basic auth with the
	// username "git" unless Username is set (what GitHub, GitLab and
	// Gitea accept).
	Token string

	// SSHKeyFile is the private key for ssh:// URLs.
	SSHKeyFile string
	// SSHKeyPassphrase decrypts SSHKeyFile when it is encrypted.
	SSHKeyPassphrase string
	// KnownHostsFile verifies the server's host key; required for ssh://
	// (there is no way to skip host key verification).
	KnownHostsFile string
}

// InsecureHTTPError is a source that would send a password or token over
// plain http:// (see SourceOptions.AllowInsecureHTTP).
type InsecureHTTPError struct{ URL string }

func (e *InsecureHTTPError) Error() string {
	return fmt.Sprintf("git source %s: refusing to send a token or password over plain http:// (use https://, or allow insecure http)", e.URL)
}

// secrets returns the values to scrub from messages.
func (a Auth) secrets() []string {
	var out []string
	for _, s := range []string{a.Password, a.Token, a.SSHKeyPassphrase} {
		if s != "" {
			out = append(out, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	return out
}

// splitURL validates raw and moves its userinfo into auth, returning the
// URL without credentials.
func splitURL(raw string, auth *Auth) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse echoes its input; never print a URL that may hold a
		// password.
		return "", fmt.Errorf("parse repository url %s: invalid URL", reconcile.Redact(raw))
	}
	switch u.Scheme {
	case "file", "http", "https", "ssh":
	case "":
		return "", fmt.Errorf("repository url %s: no scheme (want file://, https://, http:// or ssh://)", reconcile.Redact(raw))
	default:
		return "", fmt.Errorf("repository url %s: unsupported scheme %q (want file://, https://, http:// or ssh://)", reconcile.Redact(raw), u.Scheme)
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok && u.Scheme != "ssh" {
			if auth.Username == "" {
				auth.Username = u.User.Username()
			}
			if auth.Password == "" {
				auth.Password = p
			}
			u.User = nil
		} else if u.Scheme == "ssh" {
			u.User = url.User(u.User.Username()) // keep the ssh user, drop any password
		} else if auth.Username == "" {
			auth.Username = u.User.Username()
			u.User = nil
		}
	}
	return u.String(), nil
}

// transportAuth returns go-git's auth method for the URL.
func transportAuth(rawURL string, a Auth) (transport.AuthMethod, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "http", "https":
		switch {
		case a.Token != "":
			user := a.Username
			if user == "" {
				user = "git"
			}
			return &githttp.BasicAuth{Username: user, Password: a.Token}, nil
		case a.Username != "" || a.Password != "":
			return &githttp.BasicAuth{Username: a.Username, Password: a.Password}, nil
		}
		return nil, nil
	case "ssh":
		return sshAuth(u, a)
	}
	return nil, nil
}

func sshAuth(u *url.URL, a Auth) (transport.AuthMethod, error) {
	if a.SSHKeyFile == "" {
		return nil, errors.New("ssh url needs an SSH key file")
	}
	if a.KnownHostsFile == "" {
		return nil, errors.New("ssh url needs a known_hosts file (host keys are always verified)")
	}
	user := u.User.Username()
	if user == "" {
		user = "git"
	}
	pem, err := os.ReadFile(a.SSHKeyFile)
	if err != nil {
		return nil, fmt.Errorf("read ssh key: %w", err)
	}
	keys, err := gitssh.NewPublicKeys(user, pem, a.SSHKeyPassphrase)
	if err != nil {
		var missing *ssh.PassphraseMissingError
		if errors.As(err, &missing) {
			return nil, fmt.Errorf("ssh key %s is encrypted: a passphrase is needed", a.SSHKeyFile)
		}
		return nil, fmt.Errorf("ssh key %s: cannot parse or decrypt it", a.SSHKeyFile)
	}
	db, err := knownhosts.NewDB(a.KnownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("read known_hosts: %w", err)
	}
	port := u.Port()
	if port == "" {
		port = "22"
	}
	hostPort := net.JoinHostPort(u.Hostname(), port)
	keys.HostKeyCallback = db.HostKeyCallback()
	keys.HostKeyAlgorithms = db.HostKeyAlgorithms(hostPort)
	return keys, nil
}

// RemoteError is a failed exchange with the remote. Its message names the
// operation and the URL without credentials; secrets are scrubbed from the
// wrapped message too.
type RemoteError struct {
	Op  string // "ls-remote", "fetch", "push"
	URL string // redacted
	Err error

	secrets []string
}

func (e *RemoteError) Error() string {
	msg := e.Err.Error()
	for _, s := range e.secrets {
		if len(s) >= 3 {
			msg = strings.ReplaceAll(msg, s, "***")
		}
	}
	msg = reconcile.Redact(msg)
	switch {
	case errors.Is(e.Err, transport.ErrAuthenticationRequired):
		msg = "authentication required (no or wrong credentials)"
	case errors.Is(e.Err, transport.ErrAuthorizationFailed):
		msg = "authorization failed (wrong credentials)"
	case errors.Is(e.Err, transport.ErrRepositoryNotFound):
		msg = "repository not found"
	}
	switch {
	case knownhosts.IsHostUnknown(e.Err):
		msg = "host key unknown: the host is not in known_hosts"
	case knownhosts.IsHostKeyChanged(e.Err):
		msg = "host key mismatch: the host's key differs from known_hosts"
	}
	return e.Op + " " + e.URL + ": " + msg
}

func (e *RemoteError) Unwrap() error { return e.Err }

// remoteErr wraps err for op; nil stays nil.
func (s *Source) remoteErr(op string, err error) error {
	if err == nil {
		return nil
	}
	return &RemoteError{Op: op, URL: reconcile.Redact(s.url), Err: err, secrets: s.opts.Auth.secrets()}
}
