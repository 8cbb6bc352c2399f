#!/bin/sh
# Starts a child in a session of its own (outside the process group), the
# way a daemonising tool would, and a grandchild whose parent exits at once
# (a double fork). Records both pids, then prints one object and either
# exits ($HANG empty) or hangs.
setsid sleep 300 &
echo $! > "$PIDFILE.1.tmp" && mv "$PIDFILE.1.tmp" "$PIDFILE.1"
sh -c 'setsid sleep 300 & echo $! > "$PIDFILE.2.tmp" && mv "$PIDFILE.2.tmp" "$PIDFILE.2"'
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n'
if [ -n "$HANG" ]; then
  echo "hanging" >&2
  sleep 300
fi
