package ssh

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/stewardhq/steward/targets/machine"
)

var _ machine.Transport = (*Transport)(nil)

// AuthError is a host that refused every client key offered.
type AuthError struct {
	Host string
	User string
	// Tried names the credentials offered (key file path, "agent", "signers").
	Tried []string
	Err   error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("ssh %s: authentication as %q refused (offered %v)", e.Host, e.User, e.Tried)
}

func (e *AuthError) Unwrap() error { return e.Err }

// ErrClosed is returned by operations after Close.
var ErrClosed = errors.New("ssh transport closed")

// Transport is one host reached over SSH. It holds one connection, opened by
// Dial and reused by every operation; if the connection drops, the next
// operation dials again (once) and host keys are verified again.
type Transport struct {
	cfg      Config
	signers  []gossh.Signer
	closeAgt func()
	sessions chan struct{} // semaphore for command sessions

	mu     sync.Mutex
	conn   *conn
	closed bool
}

// conn is one SSH connection and its SFTP client.
type conn struct {
	client *gossh.Client
	sftp   *sftp.Client
	dead   chan struct{}
	// posixRename and fsync report the server's SFTP extensions.
	posixRename bool
	fsync       bool
}

// Dial connects to cfg.Addr, verifies its host key, authenticates and opens
// the SFTP channel.
func Dial(ctx context.Context, cfg Config) (*Transport, error) {
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	signers, closeAgt, err := cfg.signers()
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", cfg.Name, err)
	}
	t := &Transport{cfg: cfg, signers: signers, closeAgt: closeAgt, sessions: make(chan struct{}, cfg.MaxSessions)}
	c, err := t.dial(ctx)
	if err != nil {
		closeAgt()
		return nil, err
	}
	t.conn = c
	return t, nil
}

// Host names the host in reports.
func (t *Transport) Host() string { return t.cfg.Name }

// Close closes the connection.
func (t *Transport) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil
	}
	t.closed = true
	t.closeAgt()
	if t.conn == nil {
		return nil
	}
	t.conn.sftp.Close()
	return t.conn.client.Close()
}

// connect returns the live connection, dialing again if it dropped.
func (t *Transport) connect(ctx context.Context) (*conn, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	if t.conn != nil {
		select {
		case <-t.conn.dead:
			t.conn.sftp.Close()
			t.conn.client.Close()
			t.conn = nil
		default:
			return t.conn, nil
		}
	}
	c, err := t.dial(ctx)
	if err != nil {
		return nil, err
	}
	t.conn = c
	return c, nil
}

func (t *Transport) dial(ctx context.Context) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var refused error
	check, algos, err := t.cfg.hostKeyCheck(&refused)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", t.cfg.Name, err)
	}
	var tried []string
	if t.cfg.KeyFile != "" {
		tried = append(tried, "key file "+t.cfg.KeyFile)
	}
	if len(t.cfg.Signers) > 0 {
		tried = append(tried, "signers")
	}
	if t.cfg.UseAgent {
		tried = append(tried, "agent")
	}
	authTried := false
	signers := t.signers
	ccfg := &gossh.ClientConfig{
		User: t.cfg.User,
		Auth: []gossh.AuthMethod{gossh.PublicKeysCallback(func() ([]gossh.Signer, error) {
			authTried = true
			return signers, nil
		})},
		HostKeyCallback:   check,
		HostKeyAlgorithms: algos,
		Timeout:           t.cfg.Timeout,
	}

	dctx, cancel := context.WithTimeout(ctx, t.cfg.Timeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(dctx, "tcp", t.cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", t.cfg.Name, err)
	}
	deadline, _ := dctx.Deadline()
	nc.SetDeadline(deadline)
	stop := context.AfterFunc(dctx, func() { nc.SetDeadline(time.Now()) })
	sc, chans, reqs, err := gossh.NewClientConn(nc, t.cfg.Addr, ccfg)
	stop()
	if err != nil {
		nc.Close()
		switch {
		case refused != nil:
			return nil, refused
		case ctx.Err() != nil:
			return nil, fmt.Errorf("ssh %s: %w", t.cfg.Name, ctx.Err())
		case authTried:
			return nil, &AuthError{Host: t.cfg.Name, User: t.cfg.User, Tried: tried, Err: err}
		}
		return nil, fmt.Errorf("ssh %s: handshake: %w", t.cfg.Name, err)
	}
	nc.SetDeadline(time.Time{})
	client := gossh.NewClient(sc, chans, reqs)
	c := &conn{client: client, dead: make(chan struct{})}
	go func() { client.Wait(); close(c.dead) }()

	if err := t.openSFTP(ctx, c); err != nil {
		client.Close()
		return nil, err
	}
	_, c.posixRename = c.sftp.HasExtension("posix-rename@openssh.com")
	_, c.fsync = c.sftp.HasExtension("fsync@openssh.com")
	return c, nil
}

// sftpServers are tried in order when Config.SFTPServer is empty.
var sftpServers = []string{"/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/libexec/sftp-server", "/usr/lib/ssh/sftp-server"}

// openSFTP opens the SFTP channel: the sftp subsystem, or with Sudo the
// sftp-server binary run through sudo -n in an exec session.
func (t *Transport) openSFTP(ctx context.Context, c *conn) error {
	if !t.cfg.Sudo {
		s, err := sftp.NewClient(c.client)
		if err != nil {
			return fmt.Errorf("ssh %s: open sftp: %w", t.cfg.Name, err)
		}
		c.sftp = s
		return nil
	}
	sess, err := c.client.NewSession()
	if err != nil {
		return fmt.Errorf("ssh %s: sftp session: %w", t.cfg.Name, err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		sess.Close()
		return fmt.Errorf("ssh %s: sftp session: %w", t.cfg.Name, err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		sess.Close()
		return fmt.Errorf("ssh %s: sftp session: %w", t.cfg.Name, err)
	}
	stderr := &limitedBuffer{max: 4096}
	sess.Stderr = stderr
	var script string
	if t.cfg.SFTPServer != "" {
		script = "exec " + quote(t.cfg.SFTPServer)
	} else {
		script = "for p in"
		for _, p := range sftpServers {
			script += " " + quote(p)
		}
		script += `; do if [ -x "$p" ]; then exec "$p"; fi; done; echo "no sftp-server found" >&2; exit 127`
	}
	if err := sess.Start(sudoWrap(script)); err != nil {
		sess.Close()
		return fmt.Errorf("ssh %s: start sftp-server via sudo: %w", t.cfg.Name, err)
	}
	s, err := sftp.NewClientPipe(stdout, stdin)
	if err != nil {
		// Let the session end so that its stderr (sudo's refusal) is
		// copied in full before it is read; bounded, should it not end.
		waited := make(chan struct{})
		go func() { sess.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(5 * time.Second):
		}
		sess.Close()
		<-waited
		return fmt.Errorf("ssh %s: sftp-server via sudo -n failed (%w): %s", t.cfg.Name, err, stderr.String())
	}
	c.sftp = s
	return nil
}
