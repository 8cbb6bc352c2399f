package reconcile

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"k8s.io/client-go/util/jsonpath"
)

// ErrNoMatch is returned by EvalJSONPath when the path matches nothing.
var ErrNoMatch = errors.New("matches nothing")

// ParseJSONPath compiles a kubectl-style JSONPath; a bare path such as
// .spec.clusterIP is taken as {.spec.clusterIP}.
func ParseJSONPath(p string) (*jsonpath.JSONPath, error) {
	p = strings.TrimSpace(p)
	if !strings.Contains(p, "{") {
		p = "{" + p + "}"
	}
	jp := jsonpath.New("output")
	if err := jp.Parse(p); err != nil {
		return nil, fmt.Errorf("jsonPath %s: %w", p, err)
	}
	return jp, nil
}

// EvalJSONPath evaluates p over obj (an unstructured object). A path that
// matches nothing, or only empty values, is ErrNoMatch: an output is never
// silently the empty string.
func EvalJSONPath(p string, obj map[string]any) (string, error) {
	jp, err := ParseJSONPath(p)
	if err != nil {
		return "", err
	}
	results, err := jp.FindResults(obj)
	if err != nil {
		if strings.Contains(err.Error(), "not found") {
			return "", fmt.Errorf("jsonPath %s: %w", p, ErrNoMatch)
		}
		return "", fmt.Errorf("jsonPath %s: %w", p, err)
	}
	if len(results) == 0 || len(results[0]) == 0 {
		return "", fmt.Errorf("jsonPath %s: %w", p, ErrNoMatch)
	}
	var b bytes.Buffer
	if err := jp.PrintResults(&b, results[0]); err != nil {
		return "", fmt.Errorf("jsonPath %s: %w", p, err)
	}
	if b.Len() == 0 {
		return "", fmt.Errorf("jsonPath %s: %w", p, ErrNoMatch)
	}
	return b.String(), nil
}
