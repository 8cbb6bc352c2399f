package examples

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// stack is the part of steward.yaml these tests read.
type stack struct {
	Targets map[string]struct {
		Kubernetes *struct {
			Credentials string `yaml:"credentials"`
		} `yaml:"kubernetes"`
		Machines *struct {
			Hosts []string `yaml:"hosts"`
		} `yaml:"machines"`
	} `yaml:"targets"`
}

// TestExamplesNameNoPrivateSystems: every example has a README, its
// machines are placeholders under the domains reserved for documentation
// (RFC 2606), and every kubeconfig context it names is explained in its
// README — so an example never depends on a name that exists only on
// someone's laptop.
func TestExamplesNameNoPrivateSystems(t *testing.T) {
	stacks, err := filepath.Glob(filepath.Join("*", "steward.yaml"))
	if err != nil || len(stacks) < 7 {
		t.Fatalf("examples: %v (found %d)", err, len(stacks))
	}
	for _, f := range stacks {
		dir := filepath.Dir(f)
		t.Run(dir, func(t *testing.T) {
			readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
			if err != nil {
				t.Fatalf("no README: %v", err)
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var s stack
			if err := yaml.Unmarshal(b, &s); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for name, tg := range s.Targets {
				if tg.Kubernetes != nil && tg.Kubernetes.Credentials != "" &&
					!strings.Contains(string(readme), "`"+tg.Kubernetes.Credentials+"`") {
					t.Errorf("target %s names context %q, which the README does not explain", name, tg.Kubernetes.Credentials)
				}
				if tg.Machines == nil {
					continue
				}
				for _, h := range tg.Machines.Hosts {
					host, _, err := net.SplitHostPort(h)
					if err != nil {
						host = h
					}
					if !placeholder(host) {
						t.Errorf("target %s: host %q is not a documentation placeholder (example.com/.net/.org, .example)", name, h)
					}
				}
				if !strings.Contains(string(readme), "placeholder") {
					t.Errorf("target %s lists hosts; the README does not say they are placeholders", name)
				}
			}
		})
	}
}

func placeholder(host string) bool {
	for _, d := range []string{"example.com", "example.net", "example.org"} {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return strings.HasSuffix(host, ".example")
}
