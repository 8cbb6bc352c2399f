#!/bin/sh
# Prints objects built from the unit's files and steward's variables.
set -eu
test -x ./gen.sh
cat <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${STEWARD_UNIT}-settings
  namespace: apps
data:
  unit: "${STEWARD_UNIT}"
  revision: "${STEWARD_REVISION}"
  target: "${STEWARD_TARGET}"
  greeting: "${GREETING}"
  config: "$(cat config.txt)"
  linked: "$(cat link.txt)"
---
apiVersion: machine.steward.dev/v1
kind: File
metadata:
  name: motd
spec: {path: /etc/motd, content: "hello from ${STEWARD_UNIT}\n", mode: "0644"}
---
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: Namespace, metadata: {name: apps}}
  - {apiVersion: v1, kind: ServiceAccount, metadata: {name: runner, namespace: apps}}
EOF
echo "generated 4 objects" >&2
