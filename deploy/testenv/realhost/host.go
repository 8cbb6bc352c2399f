package realhost

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
	"golang.org/x/sync/errgroup"

	"github.com/stewardhq/steward/deploy/testenv"
)

// ErrUnavailable is returned when this machine cannot boot real hosts:
// debootstrap or systemd-nspawn is missing, or the tests do not run as root.
var ErrUnavailable = errors.New("real hosts unavailable")

// Options configure the hosts.
type Options struct {
	// Cache holds the base rootfs (default: "realhost" next to
	// testenv.BinDir()).
	Cache string
	// Dir is where each group of hosts gets its temporary directory ("" is
	// the system temp dir).
	Dir string
	// Debootstrap and Nspawn are the programs used.
	Debootstrap string
	Nspawn      string
	// ExtraPackages are added to BasePackages; each list has a base of its
	// own.
	ExtraPackages []string
	// Suite and Mirror default to the first Debian archive of this
	// machine's apt sources.
	Suite  string
	Mirror string
	// ClientKey is an existing private key whose ".pub" sibling is
	// authorized for root; "" generates an ed25519 key per StartN.
	ClientKey string
	// BootTimeout bounds a boot until sshd answers (default 60s).
	BootTimeout time.Duration
	// StopTimeout bounds a clean poweroff before the host is killed
	// (default 20s).
	StopTimeout time.Duration
}

// DefaultOptions returns the options tests usually want.
func DefaultOptions() Options {
	return Options{
		Cache:       filepath.Join(filepath.Dir(testenv.BinDir()), "realhost"),
		Debootstrap: "debootstrap",
		Nspawn:      "systemd-nspawn",
		BootTimeout: 60 * time.Second,
		StopTimeout: 20 * time.Second,
	}
}

func withDefaults(o Options) Options {
	d := DefaultOptions()
	if o.Cache == "" {
		o.Cache = d.Cache
	}
	if o.Debootstrap == "" {
		o.Debootstrap = d.Debootstrap
	}
	if o.Nspawn == "" {
		o.Nspawn = d.Nspawn
	}
	if o.BootTimeout <= 0 {
		o.BootTimeout = d.BootTimeout
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = d.StopTimeout
	}
	return o
}

func (o Options) suiteAndMirror() (string, string, error) {
	if o.Suite != "" && o.Mirror != "" {
		return o.Suite, o.Mirror, nil
	}
	s, m, err := hostMirror()
	if err != nil {
		return "", "", fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if o.Suite != "" {
		s = o.Suite
	}
	if o.Mirror != "" {
		m = o.Mirror
	}
	return s, m, nil
}

func checkAvailable(o Options) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: booting a guest needs root", ErrUnavailable)
	}
	for _, p := range []string{o.Debootstrap, o.Nspawn, "unshare", "nsenter", "chroot"} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%w: %s: %w (install debootstrap and systemd-container)", ErrUnavailable, p, err)
		}
	}
	return nil
}

// Host is one booted guest.
type Host struct {
	// Name is the machine name and the guest's hostname.
	Name string
	// IP is the host's own loopback address (127.x.y.z, chosen at random):
	// guests share this machine's network, so a service of each guest can
	// listen on the same port of its own address, as on separate hosts.
	IP string
	// Addr is "IP:PORT", where the guest's sshd listens.
	Addr string
	Port int
	// User is the user to log in as: root.
	User string
	// Dir is the host's directory: its overlay (upper, work), console log.
	Dir string
	// ClientKeyPath is the authorized private key (OpenSSH format).
	ClientKeyPath string
	// HostKey is the guest's ed25519 host key, HostKeyFingerprint its
	// SHA256 fingerprint.
	HostKey            ssh.PublicKey
	HostKeyFingerprint string
	// KnownHostsLine is the known_hosts line for Addr; KnownHostsPath a
	// file holding the lines of every host of the StartN.
	KnownHostsLine string
	KnownHostsPath string
	// ConsolePath is the guest's console output.
	ConsolePath string

	opts    Options
	base    string
	cleanup func()

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{}
	cgroups []string
	stopped bool
}

// Start boots one host.
func Start(ctx context.Context, opts Options) (*Host, error) {
	hs, err := StartN(ctx, 1, opts)
	if err != nil {
		return nil, err
	}
	return hs[0], nil
}

// StartN boots n hosts sharing one client key, in parallel; their
// KnownHostsPath is one file with every host's line. The base is built
// first when it is not cached. On error the hosts already booted are
// stopped.
func StartN(ctx context.Context, n int, opts Options) ([]*Host, error) {
	if n < 1 {
		return nil, fmt.Errorf("start %d real hosts: want at least one", n)
	}
	opts = withDefaults(opts)
	base, err := Base(ctx, opts)
	if err != nil {
		return nil, err
	}
	reapStale()
	parent, err := os.MkdirTemp(opts.Dir, "realhost-")
	if err != nil {
		return nil, fmt.Errorf("realhost dir: %w", err)
	}
	if opts.ClientKey == "" {
		opts.ClientKey = filepath.Join(parent, "client_key")
		if _, _, err := writeKey(opts.ClientKey, "steward-test-client"); err != nil {
			os.RemoveAll(parent)
			return nil, err
		}
	}
	var tag [3]byte
	_, _ = rand.Read(tag[:])
	hosts := make([]*Host, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i := range hosts {
		g.Go(func() error {
			h := &Host{Name: fmt.Sprintf("sw%s-%d", hex.EncodeToString(tag[:]), i+1), User: "root",
				Dir: filepath.Join(parent, fmt.Sprintf("host%d", i+1)), ClientKeyPath: opts.ClientKey, opts: opts, base: base}
			hosts[i] = h
			return h.create(gctx)
		})
	}
	err = g.Wait()
	if err == nil {
		err = writeKnownHosts(filepath.Join(parent, "known_hosts"), hosts)
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
	var mu sync.Mutex
	left := n
	for _, h := range hosts {
		h.KnownHostsPath = filepath.Join(parent, "known_hosts")
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

func writeKnownHosts(path string, hosts []*Host) error {
	var b bytes.Buffer
	for _, h := range hosts {
		b.WriteString(h.KnownHostsLine + "\n")
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// create lays out the host's overlay with its keys and sshd drop-in, and
// boots it.
func (h *Host) create(ctx context.Context) error {
	upper := filepath.Join(h.Dir, "upper")
	for _, d := range []string{upper, filepath.Join(h.Dir, "work"), filepath.Join(h.Dir, "root")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	h.ConsolePath = filepath.Join(h.Dir, "console.log")
	var ip [3]byte
	_, _ = rand.Read(ip[:])
	h.IP = fmt.Sprintf("127.%d.%d.%d", 16+int(ip[0])%224, ip[1], 1+int(ip[2])%254)
	port, err := freePort(h.IP)
	if err != nil {
		return err
	}
	h.Port = port
	h.Addr = net.JoinHostPort(h.IP, strconv.Itoa(port))
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{"etc/ssh/sshd_config.d", 0o755}, {"root/.ssh", 0o700}} {
		if err := os.MkdirAll(filepath.Join(upper, d.path), d.mode); err != nil {
			return err
		}
	}
	if err := os.Chmod(filepath.Join(upper, "root"), 0o700); err != nil {
		return err
	}
	pub, _, err := writeKey(filepath.Join(upper, "etc/ssh/ssh_host_ed25519_key"), "root@"+h.Name)
	if err != nil {
		return err
	}
	h.HostKey = pub
	h.HostKeyFingerprint = ssh.FingerprintSHA256(pub)
	h.KnownHostsLine = knownhosts.Line([]string{h.Addr}, pub)
	client, err := os.ReadFile(h.ClientKeyPath + ".pub")
	if err != nil {
		return fmt.Errorf("client key: %w", err)
	}
	if err := os.WriteFile(filepath.Join(upper, "root/.ssh/authorized_keys"), client, 0o600); err != nil {
		return err
	}
	dropIn := fmt.Sprintf("# steward test host %s\nPort %d\nListenAddress %s\nHostKey /etc/ssh/ssh_host_ed25519_key\n"+
		"PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUseDNS no\n"+
		"MaxStartups 100\nMaxSessions 30\n", h.Name, port, h.IP)
	if err := os.WriteFile(filepath.Join(upper, "etc/ssh/sshd_config.d/steward-test.conf"), []byte(dropIn), 0o644); err != nil {
		return err
	}
	// debootstrap copied this machine's hostname into the base.
	if err := os.WriteFile(filepath.Join(upper, "etc/hostname"), []byte(h.Name+"\n"), 0o644); err != nil {
		return err
	}
	return h.Boot(ctx)
}

// Boot boots the host (again, after PowerOff, with its state kept) and
// waits until its sshd answers.
func (h *Host) Boot(ctx context.Context) error {
	h.mu.Lock()
	if h.done != nil {
		select {
		case <-h.done:
		default:
			h.mu.Unlock()
			return fmt.Errorf("host %s is running", h.Name)
		}
	}
	h.mu.Unlock()
	cgroups, err := makeCgroups(h.Name)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(h.ConsolePath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	// The shell moves itself into the host's cgroups; unshare gives it a
	// private mount namespace, where the overlay is mounted, so the mount
	// goes away with the guest.
	script := `for cg in $STEWARD_CGROUPS; do echo $$ > "$cg/cgroup.procs" || exit 1; done
exec unshare --mount --propagation private -- sh -c 'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" && shift 4 && exec "$@"' sh "$@"`
	root := filepath.Join(h.Dir, "root")
	args := []string{"-c", script, "sh", h.base, filepath.Join(h.Dir, "upper"), filepath.Join(h.Dir, "work"), root,
		h.opts.Nspawn, "-D", root, "-b", "-M", h.Name, "--register=no", "--keep-unit", "--console=read-only", "--resolv-conf=copy-host"}
	cmd := exec.Command("/bin/sh", args...)
	cmd.Env = append(os.Environ(), "STEWARD_CGROUPS="+strings.Join(cgroups, " "), "SYSTEMD_LOG_LEVEL=warning")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		removeCgroups(cgroups)
		return fmt.Errorf("boot %s: %w", h.Name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	h.mu.Lock()
	h.cmd, h.done, h.cgroups, h.stopped = cmd, done, cgroups, false
	h.mu.Unlock()
	if err := h.waitSSH(ctx, done); err != nil {
		h.kill()
		return err
	}
	return nil
}

// waitSSH waits until the guest's sshd sends its banner.
func (h *Host) waitSSH(ctx context.Context, done <-chan struct{}) error {
	deadline := time.Now().Add(h.opts.BootTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("guest %s exited while booting: %s", h.Name, tail(h.ConsolePath, 3000))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if banner(h.Addr) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("guest %s: sshd not answering on %s after %s: %s", h.Name, h.Addr, h.opts.BootTimeout, tail(h.ConsolePath, 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func banner(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

// Running reports whether the guest is up.
func (h *Host) Running() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done == nil {
		return false
	}
	select {
	case <-h.done:
		return false
	default:
		return true
	}
}

// PowerOff shuts the guest down cleanly (killing it after StopTimeout)
// and keeps its state: Boot brings it back.
func (h *Host) PowerOff() error {
	h.mu.Lock()
	cmd, done := h.cmd, h.done
	h.mu.Unlock()
	if cmd == nil {
		return nil
	}
	var err error
	select {
	case <-done:
	default:
		// nspawn turns SIGTERM into SIGRTMIN+3 for the guest's systemd:
		// an orderly poweroff.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(h.opts.StopTimeout):
			err = fmt.Errorf("guest %s did not power off within %s; killed", h.Name, h.opts.StopTimeout)
		}
	}
	h.kill()
	return err
}

// Kill pulls the guest's power: every process of it is killed at once.
// Its state is kept; Boot brings it back.
func (h *Host) Kill() { h.kill() }

func (h *Host) kill() {
	h.mu.Lock()
	cmd, done, cgroups := h.cmd, h.done, h.cgroups
	h.cgroups = nil
	h.mu.Unlock()
	killCgroups(cgroups)
	if cmd != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	removeCgroups(cgroups)
}

// Stop powers the guest off and removes its directory (with StartN, the
// shared directory goes with the last host).
func (h *Host) Stop() error {
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return nil
	}
	h.stopped = true
	h.mu.Unlock()
	err := h.PowerOff()
	os.RemoveAll(h.Dir)
	if h.cleanup != nil {
		h.cleanup()
	}
	return err
}

// Exec runs argv inside the guest as root (through nsenter, not SSH), with
// a plain PATH, and returns its combined output. Tests use it to look at or
// disturb the guest independently of the transport under test.
func (h *Host) Exec(ctx context.Context, argv ...string) (string, error) {
	pid, err := h.leader()
	if err != nil {
		return "", err
	}
	args := append([]string{"--target", strconv.Itoa(pid), "--mount", "--uts", "--ipc", "--pid", "--root", "--wd", "--",
		"/usr/bin/env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}, argv...)
	out, err := exec.CommandContext(ctx, "nsenter", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s on %s: %w: %s", strings.Join(argv, " "), h.Name, err, bytes.TrimSpace(out))
	}
	return string(out), nil
}

// leader finds the guest's PID 1 among the processes of its cgroups.
func (h *Host) leader() (int, error) {
	h.mu.Lock()
	cgroups := h.cgroups
	h.mu.Unlock()
	for _, cg := range cgroups {
		for _, pid := range cgroupPids(cg) {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				continue
			}
			for _, l := range strings.Split(string(b), "\n") {
				if f := strings.Fields(l); len(f) > 2 && f[0] == "NSpid:" && f[len(f)-1] == "1" {
					return pid, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("guest %s is not running", h.Name)
}

// Console returns the guest's console output so far.
func (h *Host) Console() string {
	b, _ := os.ReadFile(h.ConsolePath)
	return string(b)
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeKey generates an ed25519 key pair, writes the private key (OpenSSH
// format, 0600) to path and the public key to path+".pub".
func writeKey(path, comment string) (ssh.PublicKey, []byte, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, nil, err
	}
	pemBytes := pem.EncodeToMemory(block)
	if err := os.WriteFile(path, pemBytes, 0o600); err != nil {
		return nil, nil, err
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return nil, nil, err
	}
	line := bytes.TrimSpace(ssh.MarshalAuthorizedKey(pub))
	if err := os.WriteFile(path+".pub", append(append(line, ' '), comment+"\n"...), 0o644); err != nil {
		return nil, nil, err
	}
	return pub, pemBytes, nil
}
