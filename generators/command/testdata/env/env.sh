#!/bin/sh
# Prints the names of every environment variable it was given.
set -eu
echo "apiVersion: v1"
echo "kind: ConfigMap"
echo "metadata: {name: env}"
echo "data:"
env | cut -d= -f1 | sort | while read -r name; do echo "  $name: set"; done
