// Package registry runs the distribution registry
// (github.com/distribution/distribution/v3, the reference implementation of
// the OCI distribution spec) for tests: one process per Start on a loopback
// port, filesystem storage in the test's temporary directory, optional
// htpasswd basic auth. deploy/testenv/build.sh builds the binary from the
// tools module into testenv.BinDir(); a missing binary is testenv.Missing.
//
// Push and Tag put images into it with go-containerregistry, with the
// config's created time chosen by the test, so that policies that read it
// (minimum age) see controlled values.
package registry
