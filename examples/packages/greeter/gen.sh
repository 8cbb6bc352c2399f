#!/bin/sh
# The parameters arrive as STEWARD_PARAM_<NAME>, and all of them as JSON in
# the file STEWARD_PARAMS names.
set -eu
i=0 text=""
while [ "$i" -lt "$STEWARD_PARAM_COUNT" ]; do
	text="$text$STEWARD_PARAM_GREETING\\n"
	i=$((i + 1))
done
cat <<YAML
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: greeting}
spec: {path: /greetings/hello, content: "$text", mode: "0644"}
YAML
