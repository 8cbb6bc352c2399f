# steward — see README.md. `make demo` and `make test` do all their own set-up.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# Test binaries (kube-apiserver, etcd) are built once into a cache outside the
# checkout and reused; tests find them through STEWARD_TESTENV_BIN.
export STEWARD_TESTENV_BIN ?= $(HOME)/.cache/steward/testenv/bin

# Debian packages the tests use: sshd for machine targets, git for the git server.
# systemd for systemd-analyze (deploy/systemd), debootstrap and
# systemd-container for the real Debian hosts (deploy/testenv/realhost).
TEST_PACKAGES  := openssh-server openssh-client git sudo chromium gnupg systemd ca-certificates debootstrap systemd-container
BENCH_PACKAGES := $(TEST_PACKAGES) ansible

.PHONY: build test bench demo demo-hosts testenv deps lint

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/steward ./cmd/steward

deps:
	deploy/testenv/install-deps.sh $(TEST_PACKAGES)

testenv: deps
	deploy/testenv/build.sh "$(STEWARD_TESTENV_BIN)"

test: testenv
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 60m ./...

bench: testenv
	deploy/testenv/install-deps.sh $(BENCH_PACKAGES)
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./...

demo: build
	deploy/demo.sh

demo-hosts: build
	deploy/demo-hosts.sh

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The OCI image, built without Docker by deploy/image (see its doc.go):
# `make image` writes an OCI layout to bin/steward-image, `make image
# PUSH=REF` also pushes it. The commit's time dates every file, so the same
# commit gives the same digest.
.PHONY: image
image:
	$(GO) run ./deploy/image --version "$(VERSION)" --commit "$(COMMIT)" \
		--created "$$(git log -1 --format=%ct 2>/dev/null || echo 0)" \
		--oci bin/steward-image $(if $(PUSH),--push "$(PUSH)")
