#!/bin/sh
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n---\napiVersion: v1\nmetadata:\n  name: kindless\n'
