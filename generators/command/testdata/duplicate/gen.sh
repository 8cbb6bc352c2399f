#!/bin/sh
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: twice, namespace: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: twice, namespace: a}\n'
