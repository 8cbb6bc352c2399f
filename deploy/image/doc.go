// Command image builds steward's OCI image without Docker, the way ko does:
// the Go binary is compiled statically (CGO_ENABLED=0, -trimpath) for each
// platform and laid on top of a small base layer that this program writes
// itself — CA certificates from the build host (Debian's
// /etc/ssl/certs/ca-certificates.crt), an /etc/passwd and /etc/group with a
// non-root user (65532, "nonroot"), an empty /tmp and a home directory. There
// is no base image to pull and no shell in the result.
//
// The image is reproducible: every file carries the same time (--created,
// the commit's time under `make image`), owners and modes are fixed, entries
// are sorted and compression is deterministic, so the same commit built with
// the same Go toolchain gives the same digest.
//
//	go run ./deploy/image --version v1.2.3 --commit SHA --oci bin/steward-image
//	go run ./deploy/image --push registry.example.com/steward:v1.2.3
//	make image                     # OCI layout in bin/steward-image
//	make image PUSH=REF            # and push it
//
// What the image lacks: a shell, coreutils, git, helm, kubectl or anything
// a command generator might run. Stacks with command generators that need
// tools run steward from an image built FROM this one; see README.md in this
// directory for a go-containerregistry program that does that.
package main
