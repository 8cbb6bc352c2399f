#!/bin/sh
# Forks a child that would outlive us, records its pid, and hangs.
sleep 300 &
# Written whole, then renamed: a reader sees no file or the full pid.
echo $! > "$PIDFILE.tmp" && mv "$PIDFILE.tmp" "$PIDFILE"
echo "waiting forever" >&2
wait
