#!/bin/sh
# Prints one File per listed vhost, plus the nginx unit that watches them.
set -eu
for vhost in $(cat vhosts.txt); do
  cat <<YAML
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: vhost-$vhost}
spec:
  path: /etc/nginx/sites-enabled/$vhost.conf
  mode: "0644"
  content: |
    server { listen 8080; server_name $vhost.$SITE.example; root /srv/$vhost; }
---
YAML
done
cat <<YAML
apiVersion: machine.steward.dev/v1
kind: Unit
metadata: {name: nginx.service}
spec: {enabled: true, state: running, watches: [$(for v in $(cat vhosts.txt); do printf 'File/vhost-%s,' "$v"; done | sed 's/,$//')]}
YAML
