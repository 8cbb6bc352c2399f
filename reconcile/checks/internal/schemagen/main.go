// Command schemagen writes the compact schema set embedded by package checks:
// the OpenAPI v3 schemas of every built-in kind of one Kubernetes release,
// reduced to the keywords validation uses and gzipped.
//
// It reads api/openapi-spec/v3/*.json of the k8s.io/kubernetes module, which
// is not a dependency of steward: schemagen asks the go command to download it
// into the module cache (outside any module, so go.mod is left alone). To move
// to another release, change the version in ../../generate.go and run
//
//	go generate ./reconcile/checks
//
// The output is deterministic: the same spec gives the same bytes.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/stewardhq/steward/reconcile/checks/internal/schemaset"
)

func main() {
	version := flag.String("version", "", "k8s.io/kubernetes module version, e.g. v1.37.0")
	dir := flag.String("dir", "", "module directory (default: go mod download the version)")
	out := flag.String("o", "schemas.json.gz", "output file")
	flag.Parse()
	if *version == "" {
		log.Fatal("schemagen: -version is required")
	}
	if *dir == "" {
		d, err := download(*version)
		if err != nil {
			log.Fatalf("schemagen: %v", err)
		}
		*dir = d
	}
	data, err := schemaset.Build(filepath.Join(*dir, "api", "openapi-spec", "v3"), *version)
	if err != nil {
		log.Fatalf("schemagen: %v", err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		log.Fatalf("schemagen: %v", err)
	}
	log.Printf("schemagen: wrote %s (%d bytes)", *out, len(data))
}

// download fetches the module into the module cache and returns its
// directory. It runs outside any module so no go.mod is touched.
func download(version string) (string, error) {
	tmp, err := os.MkdirTemp("", "schemagen")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "mod", "download", "-json", "k8s.io/kubernetes@"+version)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go mod download: %w", err)
	}
	var info struct{ Dir, Error string }
	if err := json.Unmarshal(b, &info); err != nil {
		return "", fmt.Errorf("go mod download: %w", err)
	}
	if info.Error != "" {
		return "", fmt.Errorf("go mod download: %s", info.Error)
	}
	return info.Dir, nil
}
