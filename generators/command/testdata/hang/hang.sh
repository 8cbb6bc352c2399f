#!/bin/sh
# Forks a child that would outlive us, records its pid, and hangs.
sleep 300 &
echo $! > "$PIDFILE"
echo "waiting forever" >&2
wait
