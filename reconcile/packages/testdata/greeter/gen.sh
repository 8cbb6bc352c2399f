#!/bin/sh
cat <<YAML
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: greeting}
spec: {path: /greeting, content: "$STEWARD_PARAM_GREETING x$STEWARD_PARAM_COUNT\n"}
YAML
