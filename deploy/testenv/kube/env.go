package kube

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/csv"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/stewardhq/steward/deploy/testenv"
)

// ErrMissing is returned (wrapped in a *MissingError) when a binary is not
// built; tests turn it into testenv.Missing.
var ErrMissing = errors.New("testenv binary missing")

// MissingError names the binary that was not found.
type MissingError struct{ Path string }

func (e *MissingError) Error() string { return fmt.Sprintf("%s not found", e.Path) }

// Is makes errors.Is(err, ErrMissing) true.
func (e *MissingError) Is(target error) bool { return target == ErrMissing }

// User is an extra identity added to the API server's token file at start.
type User struct {
	Name   string
	Groups []string
}

// Options configure Start.
type Options struct {
	// BinDir holds kube-apiserver and etcd; default testenv.BinDir().
	BinDir string
	// Users are extra token-authenticated identities; see Env.UserConfig.
	Users []User
	// StartTimeout bounds each server's start; default 3m (the machines
	// running the tests are often small and busy).
	StartTimeout time.Duration
	// Keep leaves the temporary directory in place after Stop.
	Keep bool
}

// DefaultOptions returns the options Start uses for zero fields.
func DefaultOptions() Options {
	return Options{BinDir: testenv.BinDir(), StartTimeout: 3 * time.Minute}
}

// AdminUser is the identity of Env.Config: a member of system:masters.
const AdminUser = "steward-admin"

// Context is the context name in the kubeconfig file Start writes.
const Context = "testenv"

// Env is a running etcd + kube-apiserver.
type Env struct {
	// Config is an admin client configuration (system:masters).
	Config *rest.Config
	// Kubeconfig is a kubeconfig file for the admin, current context Context.
	Kubeconfig string
	// Dir is the temporary directory holding data, keys and logs.
	Dir string
	// URL is the API server's address, https://127.0.0.1:PORT.
	URL string

	opts      Options
	pki       *pki
	tokens    map[string]string // user -> token
	etcdURL   string
	apiPort   int
	mu        sync.Mutex
	etcd, api *proc
}

// Start starts etcd and kube-apiserver and waits until the API server is
// ready. The caller must call Stop.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	def := DefaultOptions()
	if opts.BinDir == "" {
		opts.BinDir = def.BinDir
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = def.StartTimeout
	}
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(opts.BinDir, name)); err != nil {
			return nil, &MissingError{Path: filepath.Join(opts.BinDir, name)}
		}
	}
	dir, err := os.MkdirTemp("", "steward-kube-")
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: dir, opts: opts, tokens: map[string]string{}}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, e.LogTail(40))
			e.Stop()
		}
	}()
	if e.pki, err = writePKI(dir); err != nil {
		return nil, fmt.Errorf("generate keys: %w", err)
	}
	if err := e.writeTokens(); err != nil {
		return nil, fmt.Errorf("write tokens: %w", err)
	}
	if err := e.startEtcd(ctx); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	e.apiPort = port
	e.URL = "https://127.0.0.1:" + strconv.Itoa(port)
	e.Config = e.configFor(e.tokens[AdminUser])
	if err := e.StartAPIServer(ctx); err != nil {
		return nil, err
	}
	e.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := e.WriteKubeconfig(e.Kubeconfig, AdminUser); err != nil {
		return nil, fmt.Errorf("write kubeconfig: %w", err)
	}
	return e, nil
}

func (e *Env) writeTokens() error {
	f, err := os.OpenFile(filepath.Join(e.Dir, "tokens.csv"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	users := append([]User{{Name: AdminUser, Groups: []string{"system:masters"}}}, e.opts.Users...)
	for i, u := range users {
		if u.Name == "" {
			return fmt.Errorf("user %d has no name", i)
		}
		tok := newToken()
		e.tokens[u.Name] = tok
		rec := []string{tok, u.Name, "uid-" + u.Name}
		if len(u.Groups) > 0 {
			rec = append(rec, strings.Join(u.Groups, ","))
		}
		if err := w.Write(rec); err != nil {
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (e *Env) startEtcd(ctx context.Context) error {
	cport, err := freePort()
	if err != nil {
		return err
	}
	pport, err := freePort()
	if err != nil {
		return err
	}
	e.etcdURL = "http://127.0.0.1:" + strconv.Itoa(cport)
	e.etcd, err = startProc(filepath.Join(e.opts.BinDir, "etcd"), filepath.Join(e.Dir, "etcd.log"),
		"-data-dir", filepath.Join(e.Dir, "etcd"),
		"-listen-client-urls", e.etcdURL,
		"-listen-peer-urls", "http://127.0.0.1:"+strconv.Itoa(pport))
	if err != nil {
		return fmt.Errorf("start etcd: %w", err)
	}
	err = e.poll(ctx, e.etcd, http.DefaultClient, e.etcdURL+"/health", "")
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	return nil
}

// StartAPIServer starts the API server (again, after StopAPIServer) on the
// same port and etcd, and waits for /readyz.
func (e *Env) StartAPIServer(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.api != nil && e.api.running() {
		return errors.New("kube-apiserver is already running")
	}
	args := []string{
		"--etcd-servers=" + e.etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(e.apiPort),
		"--cert-dir=" + filepath.Join(e.Dir, "certs"),
		"--tls-cert-file=" + e.pki.certFile,
		"--tls-private-key-file=" + e.pki.keyFile,
		"--token-auth-file=" + filepath.Join(e.Dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file=" + e.pki.saPubFile,
		"--service-account-signing-key-file=" + e.pki.saKeyFile,
		"--service-cluster-ip-range=10.0.0.0/16",
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--profiling=false",
		"--enable-priority-and-fairness=false",
		"--v=1",
	}
	p, err := startProc(filepath.Join(e.opts.BinDir, "kube-apiserver"), filepath.Join(e.Dir, "kube-apiserver.log"), args...)
	if err != nil {
		return fmt.Errorf("start kube-apiserver: %w", err)
	}
	e.api = p
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.pki.caPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if err := e.poll(ctx, p, hc, e.URL+"/readyz", e.tokens[AdminUser]); err != nil {
		return fmt.Errorf("kube-apiserver: %w", err)
	}
	return nil
}

// StopAPIServer stops the API server and leaves etcd running, for tests of
// an API server that goes away.
func (e *Env) StopAPIServer() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.api == nil {
		return nil
	}
	return e.api.stop(20 * time.Second)
}

// RestartAPIServer stops and starts the API server.
func (e *Env) RestartAPIServer(ctx context.Context) error {
	if err := e.StopAPIServer(); err != nil {
		return err
	}
	return e.StartAPIServer(ctx)
}

// Stop stops both servers and removes the directory unless Options.Keep.
func (e *Env) Stop() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	if e.api != nil {
		errs = append(errs, e.api.stop(20*time.Second))
	}
	if e.etcd != nil {
		errs = append(errs, e.etcd.stop(20*time.Second))
	}
	if !e.opts.Keep {
		errs = append(errs, os.RemoveAll(e.Dir))
	}
	return errors.Join(errs...)
}

// poll waits until url answers 200, the process exits, or the start timeout.
func (e *Env) poll(ctx context.Context, p *proc, hc *http.Client, url, token string) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.StartTimeout)
	defer cancel()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: %s", url, resp.Status)
		}
		last = err
		select {
		case <-p.done:
			return fmt.Errorf("exited before ready: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %w", e.opts.StartTimeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// configFor returns a client configuration authenticating with token.
func (e *Env) configFor(token string) *rest.Config {
	return &rest.Config{
		Host:            e.URL,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: e.pki.caPEM},
		QPS:             200,
		Burst:           400,
	}
}

// UserConfig returns a client configuration for a user given in
// Options.Users.
func (e *Env) UserConfig(name string) (*rest.Config, error) {
	tok, ok := e.tokens[name]
	if !ok {
		return nil, fmt.Errorf("user %q is not in Options.Users", name)
	}
	return e.configFor(tok), nil
}

// WriteKubeconfig writes a kubeconfig for user (AdminUser or one of
// Options.Users) with the current context Context.
func (e *Env) WriteKubeconfig(path, user string) error {
	tok, ok := e.tokens[user]
	if !ok {
		return fmt.Errorf("user %q is not in Options.Users", user)
	}
	return writeKubeconfig(path, e.URL, e.pki.caPEM, tok)
}

func writeKubeconfig(path, url string, ca []byte, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[Context] = &clientcmdapi.Cluster{Server: url, CertificateAuthorityData: ca}
	cfg.AuthInfos[Context] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[Context] = &clientcmdapi.Context{Cluster: Context, AuthInfo: Context}
	cfg.CurrentContext = Context
	return clientcmd.WriteToFile(*cfg, path)
}

// LogTail returns the last n lines of each server's log.
func (e *Env) LogTail(n int) string {
	var b strings.Builder
	for _, name := range []string{"etcd", "kube-apiserver"} {
		data, err := os.ReadFile(filepath.Join(e.Dir, name+".log"))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		fmt.Fprintf(&b, "--- %s.log (last %d lines) ---\n%s\n", name, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
