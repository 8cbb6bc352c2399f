#!/usr/bin/env bash
# Builds the test binaries (kube-apiserver, etcd, the distribution registry)
# from the tools module next to this script into the directory given as $1.
# The build is skipped when that directory already holds binaries stamped
# with the hash of the tools module's files, so an edit to the module
# rebuilds and nothing else does. kubectl (for the kustomize parity test;
# Debian has none recent enough) comes from its own module, kubectl/,
# stamped the same way.
set -euo pipefail

dir=${1:?usage: build.sh DIR}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools=$here/tools
go=${GO:-go}

# The hash covers every file of the tools module (go.mod, go.sum, sources).
stamp=$(cd "$tools" && find . -type f \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -print0 |
	LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)

# reconcile/checks verifies its embedded OpenAPI schemas against this
# module's api/openapi-spec: keep it in the module cache even when the
# binaries are up to date (a no-op when it is there).
(cd "$tools" && GOFLAGS=-mod=readonly "$go" mod download k8s.io/kubernetes)

# Kubernetes reads its version from ldflags; without them the server reports
# v0.0.0 and clients that check it (kubectl, discovery) misbehave.
kver=v1.37.0
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ldflags+=" -X $pkg.gitVersion=$kver -X $pkg.gitMajor=1 -X $pkg.gitMinor=37"
	ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done

kstamp=$(cd "$here/kubectl" && sha256sum go.mod go.sum main.go | sha256sum | cut -d' ' -f1)
if [[ -x $dir/kubectl && -f $dir/.kubectl-stamp && $(<"$dir/.kubectl-stamp") == "$kstamp" ]]; then
	echo "testenv: kubectl in $dir is up to date"
else
	echo "testenv: building kubectl into $dir"
	mkdir -p "$dir"
	rm -f "$dir/.kubectl-stamp"
	(cd "$here/kubectl" && GOFLAGS=-mod=readonly CGO_ENABLED=0 "$go" build -trimpath -ldflags "$ldflags" -o "$dir/kubectl" .)
	echo "$kstamp" >"$dir/.kubectl-stamp"
fi

if [[ -x $dir/kube-apiserver && -x $dir/etcd && -x $dir/registry && -f $dir/.stamp && $(<"$dir/.stamp") == "$stamp" ]]; then
	echo "testenv: binaries in $dir are up to date"
	exit 0
fi

mkdir -p "$dir"
rm -f "$dir/.stamp"

echo "testenv: building kube-apiserver, etcd and registry into $dir (several minutes the first time)"
cd "$tools"
# -mod=readonly: go.sum is committed; the build never edits the module files.
GOFLAGS=-mod=readonly CGO_ENABLED=0 "$go" build -trimpath -ldflags "$ldflags" -o "$dir/" ./cmd/kube-apiserver ./cmd/etcd ./cmd/registry
echo "$stamp" >"$dir/.stamp"
echo "testenv: built $("$dir/kube-apiserver" --version 2>/dev/null || echo kube-apiserver)"
