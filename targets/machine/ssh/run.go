package ssh

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	gossh "golang.org/x/crypto/ssh"

	"github.com/stewardhq/steward/targets/machine"
)

// Run runs cmd.Argv on the host in an exec session on the shared
// connection. The command line is built for a POSIX shell with every
// argument single-quoted (see BuildCommand). A non-zero exit is reported in
// the result; stdout and stderr keep at most Config.MaxOutput bytes each.
// Cancelling ctx sends SIGKILL to the command and closes the session
// without waiting for it.
func (t *Transport) Run(ctx context.Context, cmd machine.Cmd) (*machine.CmdResult, error) {
	line, err := BuildCommand(cmd, t.cfg.Sudo)
	if err != nil {
		return nil, fmt.Errorf("ssh %s: %w", t.cfg.Name, err)
	}
	c, err := t.connect(ctx)
	if err != nil {
		return nil, err
	}
	select {
	case t.sessions <- struct{}{}:
		defer func() { <-t.sessions }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	sess, err := c.client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("ssh %s: open session: %w", t.cfg.Name, err)
	}
	defer sess.Close()
	stdout := &limitedBuffer{max: t.cfg.MaxOutput}
	stderr := &limitedBuffer{max: t.cfg.MaxOutput}
	sess.Stdin, sess.Stdout, sess.Stderr = cmd.Stdin, stdout, stderr
	if err := sess.Start(line); err != nil {
		return nil, fmt.Errorf("ssh %s: start %s: %w", t.cfg.Name, cmd.Argv[0], err)
	}
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// sshd delivers the signal for sessions of non-root users; it
		// refuses it for root logins, where closing the channel is all a
		// client can do (the command then runs to its end).
		sess.Signal(gossh.SIGKILL)
		sess.Close()
		return nil, fmt.Errorf("ssh %s: %s: %w", t.cfg.Name, cmd.Argv[0], ctx.Err())
	}
	res := &machine.CmdResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes()}
	var exit *gossh.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.ExitCode = exit.ExitStatus()
		if exit.Signal() != "" {
			res.ExitCode = 128 + signalNumber(exit.Signal())
		}
	default:
		// *ExitMissingError (connection lost, no status) and I/O errors.
		return nil, fmt.Errorf("ssh %s: %s: %w", t.cfg.Name, cmd.Argv[0], err)
	}
	return res, nil
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// BuildCommand is the command line Run sends: for a POSIX login shell,
//
//	cd -- 'DIR' && export NAME='value' && exec 'argv0' 'argv1' ...
//
// each argument single-quoted (a quote inside becomes '\”), so spaces,
// quotes, semicolons, $ and backquotes reach the program literally. exec
// makes argv[0] a program, never a shell builtin or keyword. With sudo the
// line is passed to `sudo -n -- /bin/sh -c`, quoted once more. Arguments
// holding NUL bytes and invalid environment names are refused.
func BuildCommand(cmd machine.Cmd, sudo bool) (string, error) {
	if len(cmd.Argv) == 0 || cmd.Argv[0] == "" {
		return "", errors.New("empty command")
	}
	var b strings.Builder
	if cmd.Dir != "" {
		if strings.IndexByte(cmd.Dir, 0) >= 0 {
			return "", errors.New("dir holds a NUL byte")
		}
		b.WriteString("cd -- " + quote(cmd.Dir) + " && ")
	}
	names := make([]string, 0, len(cmd.Env))
	for k := range cmd.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !envName.MatchString(k) {
			return "", fmt.Errorf("environment variable name %q is not a shell name", k)
		}
		if strings.IndexByte(cmd.Env[k], 0) >= 0 {
			return "", fmt.Errorf("environment variable %s holds a NUL byte", k)
		}
		b.WriteString("export " + k + "=" + quote(cmd.Env[k]) + " && ")
	}
	b.WriteString("exec")
	for i, a := range cmd.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return "", fmt.Errorf("argument %d holds a NUL byte", i)
		}
		b.WriteString(" " + quote(a))
	}
	if sudo {
		return sudoWrap(b.String()), nil
	}
	return b.String(), nil
}

// sudoWrap runs a shell script as root without prompting.
func sudoWrap(script string) string {
	return "sudo -n -- /bin/sh -c " + quote(script)
}

// quote single-quotes s for a POSIX shell.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func signalNumber(sig string) int {
	n := map[string]int{"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "ABRT": 6, "FPE": 8, "KILL": 9, "SEGV": 11, "PIPE": 13, "ALRM": 14, "TERM": 15, "USR1": 10, "USR2": 12}[sig]
	return n
}

// limitedBuffer keeps the first max bytes written and drops the rest, so a
// chatty command cannot exhaust memory; writes never fail.
type limitedBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	max       int
	truncated bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.buf.Len(); room < len(p) {
		l.truncated = true
		if room > 0 {
			l.buf.Write(p[:room])
		}
		return len(p), nil
	}
	l.buf.Write(p)
	return len(p), nil
}

func (l *limitedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}

func (l *limitedBuffer) String() string { return string(bytes.TrimSpace(l.Bytes())) }
