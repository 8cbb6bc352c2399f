#!/bin/sh
# Prints a ConfigMap holding the inputs steward passed: one variable each
# and the JSON file STEWARD_INPUTS names.
set -eu
cat <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: inputs}
data:
  dbHost: "$STEWARD_INPUT_DB_HOST"
  ip: "$STEWARD_INPUT_IP"
  json: '$(cat "$STEWARD_INPUTS")'
  inputsDir: "$(dirname "$STEWARD_INPUTS")"
YAML
