#!/bin/sh
# Writes a lot to stderr, then fails.
i=0
while [ $i -lt 300 ]; do echo "progress line $i of noisy output" >&2; i=$((i+1)); done
echo "apiVersion: v1"
echo "fatal: cannot reach the inventory service" >&2
exit 3
