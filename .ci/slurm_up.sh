#!/usr/bin/env bash
# Start a single-node SLURM cluster with accounting (Debian 12: Slurm 22.05 + slurmdbd + MariaDB), as root,
# without systemd or cgroups. Every start is clean: controller state and the accounting database are wiped.
# Daemon PIDs go to $WMIL_SLURM_STATE/pids (read by slurm_down.sh, which stops them by PID).
set -euo pipefail
STATE=${WMIL_SLURM_STATE:-/var/lib/wmil-slurm}
PKGS="slurm-wlm slurmctld slurmd slurm-client munge slurmdbd mariadb-server"
log() { echo "[slurm_up] $*"; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local n=$(( $1 * 5 )) what=$2; shift 2
  for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "timed out waiting for $what"; return 1
}
[ "$(id -u)" = 0 ] || { log "needs root (installs packages, starts daemons)"; exit 2; }
MARK="# written by WMIL-Bench .ci/slurm_up.sh"
if [ -f /etc/slurm/slurm.conf ] && ! grep -qF "$MARK" /etc/slurm/slurm.conf; then
  log "refusing: /etc/slurm/slurm.conf exists and is not ours (a real cluster?)"; exit 3
fi
t0=$(date +%s)
missing=$(for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done | xargs || true)
if [ -n "$missing" ]; then
  log "apt-get install $missing"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
[ -f "$STATE/pids" ] && bash "$(dirname "$0")/slurm_down.sh" || true
rm -rf "$STATE"; mkdir -p "$STATE"/{ctld,d,log} /etc/slurm
: > "$STATE/pids"

# munge (as user munge, socket in /run/munge)
[ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
install -d -o munge -g munge -m 755 /run/munge
runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid --socket=/run/munge/munge.socket.2
wait_for 10 munged test -S /run/munge/munge.socket.2
echo "munged $(cat /run/munge/munged.pid)" >> "$STATE/pids"

# MariaDB for slurmdbd
install -d -o mysql -g mysql /run/mysqld
[ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
mariadbd --user=mysql --datadir=/var/lib/mysql --socket=/run/mysqld/mysqld.sock --pid-file=/run/mysqld/wmil.pid \
  --log-error=/run/mysqld/wmil.log --bind-address=127.0.0.1 >/dev/null 2>&1 &
wait_for 30 mariadb mariadb -e "SELECT 1"
echo "mariadbd $(cat /run/mysqld/wmil.pid)" >> "$STATE/pids"
mariadb -e "DROP DATABASE IF EXISTS slurm_acct_db; CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'wmil';
            GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"

NPROC=$(nproc)
MEM=$(( $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) - 1024 ))
cat > /etc/slurm/slurmdbd.conf <<CONF
$MARK
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=$STATE/slurmdbd.pid
LogFile=$STATE/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=wmil
StorageLoc=slurm_acct_db
CONF
chmod 600 /etc/slurm/slurmdbd.conf
cat > /etc/slurm/slurm.conf <<CONF
$MARK
ClusterName=wmil
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
AuthInfo=cred_expire=5
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
KillWait=5
SchedulerParameters=bf_interval=5,sched_interval=5
ReturnToService=2
MpiDefault=none
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$NPROC RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

slurmdbd
wait_for 30 slurmdbd test -s "$STATE/slurmdbd.pid"
echo "slurmdbd $(cat "$STATE/slurmdbd.pid")" >> "$STATE/pids"
wait_for 30 "slurmdbd to answer" sacctmgr -n list cluster
sacctmgr -i add cluster wmil >/dev/null 2>&1 || true
slurmctld
wait_for 30 slurmctld test -s "$STATE/slurmctld.pid"
echo "slurmctld $(cat "$STATE/slurmctld.pid")" >> "$STATE/pids"
slurmd -N localhost
wait_for 30 slurmd test -s "$STATE/slurmd.pid"
echo "slurmd $(cat "$STATE/slurmd.pid")" >> "$STATE/pids"
wait_for 60 "node idle" bash -c 'sinfo -h -o %T | grep -q idle'
log "cluster up in $(( $(date +%s) - t0 )) s: $(sinfo -h -o '%P %D %c CPUs %m MB %T')"
