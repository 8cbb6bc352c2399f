#!/bin/sh
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n'
