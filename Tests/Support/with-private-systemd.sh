#!/bin/bash
# Boots a real systemd as PID 1 of private namespaces, with Renkei installed, for the end-to-end
# test; prints nothing and keeps running until that systemd powers off. WORK holds bin/, units/,
# jobs/ (prepared by the caller) and receives journal/ and console.log.
#   with-private-systemd.sh NAME WORK
set -euo pipefail
name=$1
work=$2
here=$(cd "$(dirname "$0")" && pwd)
if [ -d /sys/fs/cgroup/unified ]; then cgroups=/sys/fs/cgroup/unified; else cgroups=/sys/fs/cgroup; fi
mkdir -p "$cgroups/$name"
echo $$ > "$cgroups/$name/cgroup.procs"
exec setpriv --bounding-set=-sys_module,-sys_time,-sys_boot,-sys_rawio \
  unshare --pid --fork --mount --uts --ipc --cgroup --propagation=private "$here/systemd-inner.sh" "$work"
