package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/stewardhq/steward/deploy/testenv"
)

// Namespace creates a fresh namespace for the test and returns its name.
// Namespaces are not deleted: without a controller-manager they would stay
// Terminating; the whole environment goes away with Stop.
func (e *Env) Namespace(tb testing.TB) string {
	tb.Helper()
	base := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, tb.Name())
	if len(base) > 50 {
		base = base[:50]
	}
	name := strings.Trim(base, "-") + "-" + newToken()[:6]
	c, err := corev1client.NewForConfig(e.Config)
	if err != nil {
		tb.Fatalf("client: %v", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.Namespaces().Create(tb.Context(), ns, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

// ServiceAccountConfig creates the service account namespace/name if it
// does not exist and returns a client configuration authenticating as it
// with a token from the TokenRequest API.
func (e *Env) ServiceAccountConfig(ctx context.Context, namespace, name string) (*rest.Config, error) {
	c, err := corev1client.NewForConfig(e.Config)
	if err != nil {
		return nil, err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	if _, err := c.ServiceAccounts(namespace).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create service account %s/%s: %w", namespace, name, err)
	}
	exp := int64(3600)
	tr, err := c.ServiceAccounts(namespace).CreateToken(ctx, name,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("token for %s/%s: %w", namespace, name, err)
	}
	return e.configFor(tr.Status.Token), nil
}

// Shared is one environment for a test package:
//
//	var env kube.Shared
//	func TestMain(m *testing.M) { os.Exit(env.Main(m, kube.DefaultOptions())) }
//	func TestX(t *testing.T) { e := env.Get(t); ... }
type Shared struct {
	env *Env
	err error
}

// Main starts the environment, runs the tests, prints the servers' log tails
// when a test failed, and stops it. A start failure is kept and reported by
// Get in every test (testenv.Missing for a missing binary).
func (s *Shared) Main(m *testing.M, opts Options) int {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	s.env, s.err = Start(ctx, opts)
	cancel()
	code := m.Run()
	if s.env != nil {
		if code != 0 {
			fmt.Fprint(os.Stderr, s.env.LogTail(30))
		}
		if err := s.env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "testenv: stop:", err)
		}
	}
	return code
}

// Get returns the running environment, or ends the test: testenv.Missing
// when a binary is not built, a fatal error when it failed to start.
func (s *Shared) Get(tb testing.TB) *Env {
	tb.Helper()
	if errors.Is(s.err, ErrMissing) {
		testenv.Missing(tb, "%v", s.err)
	}
	if s.err != nil {
		tb.Fatalf("testenv: start kube-apiserver: %v", s.err)
	}
	if s.env == nil {
		tb.Fatal("testenv: kube.Shared.Main was not called from TestMain")
	}
	return s.env
}
