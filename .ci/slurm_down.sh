#!/usr/bin/env bash
# Stop the daemons started by slurm_up.sh by the PIDs it recorded: SIGTERM to all (newest first), then wait for
# each to exit (SIGKILL after 10 s).
set -uo pipefail
STATE=${WMIL_SLURM_STATE:-/var/lib/wmil-slurm}
[ -f "$STATE/pids" ] || { echo "[slurm_down] nothing to stop ($STATE/pids missing)"; exit 0; }

tac "$STATE/pids" | while read -r name pid; do
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && kill -TERM "$pid"
done
tac "$STATE/pids" | while read -r name pid; do
  [ -n "$pid" ] || continue
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid"; echo "[slurm_down] killed $name ($pid)"; }
  echo "[slurm_down] stopped $name ($pid)"
done
rm -f "$STATE/pids"
echo "[slurm_down] done in ${SECONDS} s"
