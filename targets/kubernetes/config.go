package kubernetes

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// LoadConfig returns the client configuration for context (the current one
// when empty) of the kubeconfig at path. With path empty it follows
// KUBECONFIG, then ~/.kube/config, then the in-cluster configuration.
func LoadConfig(path, context string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		if context != "" {
			return nil, fmt.Errorf("kubeconfig context %q: %w", context, err)
		}
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return cfg, nil
}
