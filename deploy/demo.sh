#!/usr/bin/env bash
# make demo: steward's main job on an embedded default, no cluster needed.
# Makes a git repository from examples/quickstart, runs `steward run` on it with
# a local target under a work directory, pushes a change and shows it applied,
# edits a file by hand and shows the drift corrected, then cleans up.
# DEMO_KEEP=1 keeps steward running (and the status page up) until Enter.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
steward="$here/bin/steward"
[ -x "$steward" ] || { echo "demo: build steward first (make build)"; exit 1; }
command -v git >/dev/null || "$here/deploy/testenv/install-deps.sh" git

work=$(mktemp -d "${TMPDIR:-/tmp}/steward-demo.XXXXXX")
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
gitc() { git -C "$work/repo" -c user.name=demo -c user.email=demo@example.com "$@"; }
wait_for() { # wait_for DESCRIPTION COMMAND... : retry for up to 30 s
  local what=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && { echo "   ok: $what"; return 0; }; sleep 0.5; done
  echo "demo: timed out waiting for: $what"; tail -20 "$work/steward.log"; exit 1
}
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18080; }

say "A git repository made from examples/quickstart"
mkdir -p "$work/repo" "$work/run"
cp -r "$here/examples/quickstart/." "$work/repo/"
git -C "$work/repo" init -q -b main
gitc add -A && gitc commit -qm "quickstart"
"$steward" verify -C "$work/repo"

addr="127.0.0.1:$(port)"
say "steward run (poll every 2s, drift check every 5s), status page at http://$addr/"
(cd "$work/run" && exec "$steward" run -C "$work/repo" --listen "$addr" --poll-interval 2s --interval 5s \
   --cache-dir "$work/cache" --log-level info >"$work/steward.log" 2>&1) &
pid=$!
out="$work/run/out"
wait_for "the site is applied under $out" grep -q "Version 1" "$out/srv/www/index.html"
ls -l "$out/srv/www" "$out/etc/motd"

say "Push a change: git commit, nothing else"
sed -i 's/Version 1/Version 2/' "$work/repo/site/index.html"
gitc commit -qam "index: version 2"
wait_for "version 2 is live" grep -q "Version 2" "$out/srv/www/index.html"

say "Drift: edit a managed file by hand"
echo "hand edit" > "$out/etc/motd"
wait_for "steward put /etc/motd back" grep -q "kept by steward" "$out/etc/motd"

say "Status (/api/status)"
python3 - "$addr" <<'PY' || echo "   (see http://$addr/api/status)"
import json, sys, urllib.request
s = json.load(urllib.request.urlopen(f"http://{sys.argv[1]}/api/status"))
print("revision", s.get("revision", "")[:12])
for u in s["units"]:
    print(f'  {u["name"]:10} {u["state"]:10} revision {u.get("revision", "")[:12]}')
PY
grep -E "new revision|drift" "$work/steward.log" | tail -5 || true

if [ "${DEMO_KEEP:-}" = 1 ]; then
  say "steward keeps running: open http://$addr/ — press Enter to stop and clean up"
  read -r _
fi
say "Done: stopping steward (SIGTERM) and removing $work"
