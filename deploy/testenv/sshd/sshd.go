package sshd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	"golang.org/x/sync/errgroup"
)

// ErrNotInstalled is returned when the sshd binary (or, with shims, the
// sftp-server binary) is not on this machine.
var ErrNotInstalled = errors.New("openssh-server is not installed")

// Options configure the test hosts.
type Options struct {
	// SSHD is the sshd binary: $STEWARD_SSHD, else /usr/sbin/sshd.
	SSHD string
	// Dir is where each host's temporary directory is created ("" is the
	// system temp dir). Stop removes the host's directory.
	Dir string
	// ClientKey is an existing private key whose ".pub" sibling is
	// authorized; "" generates a new ed25519 key (shared by the hosts of one
	// StartN).
	ClientKey string
	// PathPrefix lists directories put first on the PATH of every session,
	// so command shims are found before the real commands. Sessions then run
	// through a wrapper (ForceCommand) and sftp through the sftp-server
	// binary instead of internal-sftp.
	PathPrefix []string
	// LogLevel is sshd's LogLevel (default INFO, which logs each accepted
	// connection; see Host.Accepted).
	LogLevel string
	// HostKeyTypes are the host keys each host gets, in order: "ed25519"
	// (the default) and/or "ecdsa".
	HostKeyTypes []string
	// StartTimeout bounds waiting for a host to listen (default 10s).
	StartTimeout time.Duration
}

// DefaultOptions returns the options tests usually want.
func DefaultOptions() Options {
	bin := os.Getenv("STEWARD_SSHD")
	if bin == "" {
		bin = "/usr/sbin/sshd"
	}
	return Options{SSHD: bin, LogLevel: "INFO", StartTimeout: 10 * time.Second}
}

// Host is one running sshd.
type Host struct {
	// Addr is "127.0.0.1:PORT".
	Addr string
	// Port is the listening port.
	Port int
	// User is the user sessions log in as (the user running the tests).
	User string
	// Dir is the host's temporary directory (config, keys, log).
	Dir string
	// Root is an empty directory under Dir: this host's root prefix.
	Root string
	// ClientKeyPath is the authorized private key (OpenSSH format).
	ClientKeyPath string
	// HostKey is the host's (first) public key; HostKeyFingerprint its
	// SHA256 fingerprint ("SHA256:..."). HostKeys holds every host key, in
	// Options.HostKeyTypes order.
	HostKey            ssh.PublicKey
	HostKeyFingerprint string
	HostKeys           []ssh.PublicKey
	// KnownHostsLine is the known_hosts line for Addr and HostKey;
	// KnownHostsPath a file holding it (with StartN: every host's line).
	KnownHostsLine string
	KnownHostsPath string
	// LogPath is sshd's log (stderr with -e).
	LogPath string

	opts         Options
	config       string
	ownsDir      bool
	cleanup      func()
	hostKeyFiles []string
	stopOnce     sync.Once

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts one host.
func Start(ctx context.Context, opts Options) (*Host, error) {
	opts = withDefaults(opts)
	if err := checkInstalled(opts); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(opts.Dir, "sshd-")
	if err != nil {
		return nil, fmt.Errorf("sshd temp dir: %w", err)
	}
	h, err := start(ctx, dir, true, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return h, nil
}

// StartN starts n hosts sharing one client key, in parallel; their
// KnownHostsPath is one file with every host's line. On error the hosts
// already started are stopped.
func StartN(ctx context.Context, n int, opts Options) ([]*Host, error) {
	if n < 1 {
		return nil, fmt.Errorf("start %d sshd hosts: want at least one", n)
	}
	opts = withDefaults(opts)
	if err := checkInstalled(opts); err != nil {
		return nil, err
	}
	parent, err := os.MkdirTemp(opts.Dir, "sshd-hosts-")
	if err != nil {
		return nil, fmt.Errorf("sshd temp dir: %w", err)
	}
	if opts.ClientKey == "" {
		opts.ClientKey = filepath.Join(parent, "client_key")
		if _, err := writeKey(opts.ClientKey, "steward-test-client", "ed25519"); err != nil {
			os.RemoveAll(parent)
			return nil, err
		}
	}
	hosts := make([]*Host, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range hosts {
		g.Go(func() error {
			dir := filepath.Join(parent, fmt.Sprintf("host%02d", i))
			if err := os.Mkdir(dir, 0o700); err != nil {
				return err
			}
			h, err := start(gctx, dir, false, opts)
			hosts[i] = h
			return err
		})
	}
	err = g.Wait()
	if err == nil {
		err = WriteKnownHosts(filepath.Join(parent, "known_hosts"), hosts...)
	}
	if err != nil {
		for _, h := range hosts {
			if h != nil {
				h.Stop()
			}
		}
		os.RemoveAll(parent)
		return nil, err
	}
	for _, h := range hosts {
		h.KnownHostsPath = filepath.Join(parent, "known_hosts")
	}
	// The last host to stop removes the shared directory.
	var mu sync.Mutex
	left := n
	for _, h := range hosts {
		h.cleanup = func() {
			mu.Lock()
			defer mu.Unlock()
			if left--; left == 0 {
				os.RemoveAll(parent)
			}
		}
	}
	return hosts, nil
}

// WriteKnownHosts writes a known_hosts file with the lines of hosts.
func WriteKnownHosts(path string, hosts ...*Host) error {
	var b bytes.Buffer
	for _, h := range hosts {
		b.WriteString(h.KnownHostsLine + "\n")
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func withDefaults(opts Options) Options {
	d := DefaultOptions()
	if opts.SSHD == "" {
		opts.SSHD = d.SSHD
	}
	if opts.LogLevel == "" {
		opts.LogLevel = d.LogLevel
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = d.StartTimeout
	}
	return opts
}

func checkInstalled(opts Options) error {
	if _, err := exec.LookPath(opts.SSHD); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNotInstalled, opts.SSHD, err)
	}
	if len(opts.PathPrefix) > 0 && sftpServer() == "" {
		return fmt.Errorf("%w: no sftp-server binary", ErrNotInstalled)
	}
	return nil
}

// sftpServer finds the sftp-server binary used when sessions are wrapped.
func sftpServer() string {
	for _, p := range []string{"/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/libexec/sftp-server", "/usr/lib/ssh/sftp-server"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

func start(ctx context.Context, dir string, ownsDir bool, opts Options) (*Host, error) {
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("current user: %w", err)
	}
	h := &Host{User: u.Username, Dir: dir, Root: filepath.Join(dir, "root"), LogPath: filepath.Join(dir, "sshd.log"),
		opts: opts, config: filepath.Join(dir, "sshd_config"), ownsDir: ownsDir}
	if err := os.Mkdir(h.Root, 0o755); err != nil {
		return nil, err
	}
	types := opts.HostKeyTypes
	if len(types) == 0 {
		types = []string{"ed25519"}
	}
	for _, typ := range types {
		k, err := writeKey(filepath.Join(dir, "host_"+typ+"_key"), "steward-test-host", typ)
		if err != nil {
			return nil, err
		}
		h.HostKeys = append(h.HostKeys, k)
		h.hostKeyFiles = append(h.hostKeyFiles, filepath.Join(dir, "host_"+typ+"_key"))
	}
	h.HostKey = h.HostKeys[0]
	h.HostKeyFingerprint = ssh.FingerprintSHA256(h.HostKey)
	h.ClientKeyPath = opts.ClientKey
	if h.ClientKeyPath == "" {
		h.ClientKeyPath = filepath.Join(dir, "client_key")
		if _, err := writeKey(h.ClientKeyPath, "steward-test-client", "ed25519"); err != nil {
			return nil, err
		}
	} else if _, err := readPublicKey(h.ClientKeyPath + ".pub"); err != nil {
		return nil, fmt.Errorf("client key: %w", err)
	}
	if os.Geteuid() == 0 {
		// sshd refuses to start as root without its privilege separation
		// directory; the Debian service creates it the same way.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, fmt.Errorf("privilege separation dir: %w", err)
		}
	}
	var lastErr error
	for range 3 { // a free port can be taken between FreePort and bind
		h.Port, err = freePort()
		if err != nil {
			return nil, err
		}
		h.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(h.Port))
		h.KnownHostsLine = knownhosts.Line([]string{h.Addr}, h.HostKey)
		if ownsDir {
			h.KnownHostsPath = filepath.Join(dir, "known_hosts")
			if err := WriteKnownHosts(h.KnownHostsPath, h); err != nil {
				return nil, err
			}
		}
		if err := h.writeConfig(); err != nil {
			return nil, err
		}
		if lastErr = h.run(ctx); lastErr == nil {
			return h, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (h *Host) writeConfig() error {
	var c strings.Builder
	fmt.Fprintf(&c, "ListenAddress %s\n", h.Addr)
	for _, k := range h.hostKeyFiles {
		fmt.Fprintf(&c, "HostKey %s\n", k)
	}
	fmt.Fprintf(&c, "PidFile %s\n", filepath.Join(h.Dir, "sshd.pid"))
	fmt.Fprintf(&c, "AuthorizedKeysFile %s\n", h.ClientKeyPath+".pub")
	fmt.Fprintf(&c, "AllowUsers %s\n", h.User)
	c.WriteString("UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\n")
	c.WriteString("PasswordAuthentication no\nKbdInteractiveAuthentication no\n")
	c.WriteString("PrintMotd no\nUseDNS no\nMaxStartups 200\nMaxSessions 20\n")
	fmt.Fprintf(&c, "LogLevel %s\n", h.opts.LogLevel)
	// Keep the test user's shell start-up files out of the hosts: Debian's
	// bash reads ~/.bashrc for ssh commands only when SHLVL starts below 1.
	c.WriteString("SetEnv SHLVL=1\n")
	if len(h.opts.PathPrefix) == 0 {
		c.WriteString("Subsystem sftp internal-sftp\n")
	} else {
		// The login shell may rewrite PATH (Debian's bash reads ~/.bashrc
		// for ssh commands), so a wrapper puts the shims first after it.
		wrapper := filepath.Join(h.Dir, "session.sh")
		script := "#!/bin/sh\nPATH=" + shellQuote(strings.Join(h.opts.PathPrefix, ":")) + ":\"$PATH\"\nexport PATH\n" +
			"if [ -n \"$SSH_ORIGINAL_COMMAND\" ]; then exec /bin/sh -c \"$SSH_ORIGINAL_COMMAND\"; fi\n" +
			"exec \"${SHELL:-/bin/sh}\" -l\n"
		if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
			return err
		}
		fmt.Fprintf(&c, "Subsystem sftp %s\n", sftpServer())
		fmt.Fprintf(&c, "ForceCommand %s\n", wrapper)
	}
	return os.WriteFile(h.config, []byte(c.String()), 0o600)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// run starts sshd with the written config and waits until it accepts
// connections.
func (h *Host) run(ctx context.Context) error {
	logf, err := os.OpenFile(h.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(h.opts.SSHD, "-D", "-e", "-f", h.config)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start sshd: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	h.mu.Lock()
	h.cmd, h.done = cmd, done
	h.mu.Unlock()

	deadline := time.Now().Add(h.opts.StartTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("sshd on %s exited: %s", h.Addr, h.logTail())
		case <-ctx.Done():
			h.Kill()
			return ctx.Err()
		default:
		}
		c, err := net.DialTimeout("tcp", h.Addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			h.Kill()
			return fmt.Errorf("sshd on %s not listening after %s: %s", h.Addr, h.opts.StartTimeout, h.logTail())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *Host) logTail() string {
	b, _ := os.ReadFile(h.LogPath)
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// Log returns sshd's log so far.
func (h *Host) Log() string {
	b, _ := os.ReadFile(h.LogPath)
	return string(b)
}

// Accepted counts the connections sshd authenticated so far.
func (h *Host) Accepted() int {
	return strings.Count(h.Log(), "Accepted publickey for ")
}

// Restart starts sshd again after Stop or Kill, on the same port with the
// same keys.
func (h *Host) Restart(ctx context.Context) error {
	h.mu.Lock()
	running := h.done != nil
	if running {
		select {
		case <-h.done:
			running = false
		default:
		}
	}
	h.mu.Unlock()
	if running {
		return fmt.Errorf("sshd on %s is running", h.Addr)
	}
	return h.run(ctx)
}

// Kill kills sshd and every session process it started with SIGKILL, the
// way a crash or a cut network drops connections mid-transfer. The
// directory stays; Restart brings the host back.
func (h *Host) Kill() error {
	return h.signal(syscall.SIGKILL)
}

// Stop terminates sshd and its sessions and removes the host's directory
// (with StartN, the shared directory goes with the last host).
func (h *Host) Stop() error {
	err := h.signal(syscall.SIGTERM)
	h.stopOnce.Do(func() {
		os.RemoveAll(h.Dir)
		if h.cleanup != nil {
			h.cleanup()
		}
	})
	return err
}

func (h *Host) signal(sig syscall.Signal) error {
	h.mu.Lock()
	cmd, done := h.cmd, h.done
	h.mu.Unlock()
	if cmd == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	default:
	}
	// Collect the session processes before the listener dies: once it is
	// gone they are reparented and cannot be found by parent any more.
	kids := descendants(cmd.Process.Pid)
	cmd.Process.Signal(sig)
	for _, pid := range kids {
		syscall.Kill(pid, sig)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
	if sig != syscall.SIGKILL {
		for _, pid := range kids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return nil
}

// descendants lists the processes below pid, from /proc.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so parse after ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		children[ppid] = append(children[ppid], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}
