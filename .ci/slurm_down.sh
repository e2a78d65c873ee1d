#!/usr/bin/env bash
# Stop the daemons started by slurm_up.sh, by the PIDs it recorded (newest first), waiting for each to exit.
set -uo pipefail
STATE=${WMIL_SLURM_STATE:-/var/lib/wmil-slurm}
[ -f "$STATE/pids" ] || { echo "[slurm_down] nothing to stop ($STATE/pids missing)"; exit 0; }
tac "$STATE/pids" | while read -r name pid; do
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || continue
  kill -TERM "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  echo "[slurm_down] stopped $name ($pid)"
done
rm -f "$STATE/pids"
