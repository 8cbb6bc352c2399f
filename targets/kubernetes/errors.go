package kubernetes

import "k8s.io/apimachinery/pkg/api/meta"

func isNoMatch(err error) bool { return err != nil && meta.IsNoMatchError(err) }
