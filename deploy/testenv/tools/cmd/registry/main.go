// Command registry is the distribution registry (the reference implementation
// of the OCI distribution spec) for the tests of image automation: the
// upstream cmd/registry with only the storage drivers and the auth the tests
// use (filesystem, inmemory, htpasswd), so the build pulls no cloud SDKs.
package main

import (
	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory"
)

func main() {
	// RootCmd exits non-zero itself when serve fails.
	_ = registry.RootCmd.Execute()
}
