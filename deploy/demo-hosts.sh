#!/usr/bin/env bash
# make demo-hosts: steward's machine target on two real Debian hosts.
# Boots two guests (deploy/testenv/realhost: systemd as PID 1, real apt, sshd
# on their own loopback addresses), makes a git repository with a small web
# estate (busybox from the mirror, a page, a templated config, a systemd unit,
# rolled out one host at a time behind an HTTP health check), then shows:
# the change applied, drift corrected, and a failing health check rolled
# back with the rollout stopped. Tears everything down at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
steward="$here/bin/steward"
[ -x "$steward" ] || { echo "demo-hosts: build steward first (make build)"; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "demo-hosts: booting guests needs root"; exit 1; }
"$here/deploy/testenv/install-deps.sh" debootstrap systemd-container openssh-client curl git

work=$(mktemp -d "${TMPDIR:-/tmp}/steward-demo-hosts.XXXXXX")
rh=""
cleanup() {
  exec 3>&- 2>/dev/null || true # closing its stdin stops the guests
  [ -n "$rh" ] && wait "$rh" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
gitc() { git -C "$work/repo" -c user.name=demo -c user.email=demo@example.com "$@"; }

say "Booting two Debian guests (the base is debootstrapped and cached the first time, a few minutes)"
(cd "$here" && go build -o "$work/realhost" ./deploy/testenv/realhost/cmd/realhost)
mkfifo "$work/ctl"
"$work/realhost" -n 2 -dir "$work/hosts" <"$work/ctl" &
rh=$!
exec 3>"$work/ctl"
for _ in $(seq 1 900); do [ -s "$work/hosts/hosts" ] && break; kill -0 "$rh" 2>/dev/null || exit 1; sleep 0.5; done
cat "$work/hosts/hosts"
mapfile -t names < <(cut -d' ' -f1 "$work/hosts/hosts")
mapfile -t ips < <(cut -d' ' -f2 "$work/hosts/hosts")
mapfile -t addrs < <(cut -d' ' -f3 "$work/hosts/hosts")
mkdir -p "$work/creds" && cp "$work/hosts/client_key" "$work/creds/demo-key"
flags=(--credentials-dir "$work/creds" --known-hosts "$work/hosts/known_hosts" --cache-dir "$work/cache")
guest() { # guest N COMMAND: run a command on guest N over ssh
  local i=$1; shift
  ssh -F none -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$work/hosts/known_hosts" \
    -i "$work/hosts/client_key" -p "${addrs[$i]##*:}" "root@${ips[$i]}" "$@"
}
pages() { for i in 0 1; do printf '   %s: %s\n' "${names[$i]}" "$(curl -s -m 2 "http://${ips[$i]}:8080/healthz" || echo unreachable)"; done; }

say "A git repository: the web estate"
mkdir -p "$work/repo/hosts/web"
cat >"$work/repo/steward.yaml" <<YAML
apiVersion: steward.dev/v1
kind: Stack
targets:
  web: {machines: {hosts: [${addrs[0]}, ${addrs[1]}], user: root, credentials: demo-key, rollout: {batch: 1, maxFailures: 0}}}
units:
  - name: web
    path: hosts/web
    generator: {yaml: {}}
    target: web
    prune: true
    health: {http: {url: "http://{{.Host}}:8080/healthz"}, retries: 10, interval: 500ms}
YAML
page() { # page PATH BODY: write the estate with the page at PATH
cat >"$work/repo/hosts/web/web.yaml" <<YAML
apiVersion: machine.steward.dev/v1
kind: Package
metadata: {name: busybox}
---
apiVersion: machine.steward.dev/v1
kind: Directory
metadata: {name: www}
spec: {path: /srv/www}
---
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: page}
spec: {path: /srv/www/$1, content: "$2\n"}
---
apiVersion: machine.steward.dev/v1
kind: File
metadata: {name: web-env}
spec: {path: /etc/default/web, template: true, content: "ADDR={{.Host}}:8080\n"}
---
apiVersion: machine.steward.dev/v1
kind: Unit
metadata: {name: web}
spec:
  content: |
    [Service]
    EnvironmentFile=/etc/default/web
    ExecStart=/bin/busybox httpd -f -p \${ADDR} -h /srv/www
    [Install]
    WantedBy=multi-user.target
  enabled: true
  state: running
  watches: [File/web-env, File/page]
YAML
}
page healthz "hello from steward v1"
git -C "$work/repo" init -q -b main
gitc add -A && gitc commit -qm "web estate v1"
"$steward" verify -C "$work/repo"

say "steward sync: install busybox, write the page and the unit, start it, health-check each host"
"$steward" sync -C "$work/repo" "${flags[@]}"
pages

say "Drift: someone edits the page on ${names[1]} by hand"
guest 1 'echo edited by hand > /srv/www/healthz'
pages
"$steward" diff --live -C "$work/repo" "${flags[@]}" || true
say "steward sync puts it back"
"$steward" sync -C "$work/repo" "${flags[@]}"
pages

say "A bad revision: the page moves away from /healthz"
page moved "hello from steward v2"
gitc commit -qam "move the page (breaks the health check)"
"$steward" sync -C "$work/repo" "${flags[@]}" && { echo "demo-hosts: the bad revision passed"; exit 1; }
say "${names[0]} failed its health check and was rolled back; the rollout stopped before ${names[1]}"
pages
guest 0 'ls /srv/www; systemctl is-active web'

say "Done: tearing the guests down"
