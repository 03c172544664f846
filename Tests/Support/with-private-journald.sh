#!/bin/bash
# Runs a command next to a journald of its own, so tests can read exactly what Renkei wrote with
# `journalctl --directory=SCRATCH/journal`, without touching any other journald on the machine.
# Must run inside a private mount namespace:
#   unshare --mount --propagation=private Tests/Support/with-private-journald.sh SCRATCH COMMAND...
# SCRATCH/journal receives the journal files; SCRATCH/journald.log journald's own messages.
set -euo pipefail
scratch=$1
shift
mkdir -p "$scratch/journal"
mkdir -p /run/systemd /run/log
mount -t tmpfs tmpfs /run/systemd
mount -t tmpfs tmpfs /run/log
mkdir -p /run/systemd/journal /run/log/journal
mount --bind "$scratch/journal" /run/log/journal
mount --bind /dev/null /dev/kmsg
printf '[Journal]\nStorage=volatile\nReadKMsg=no\nForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\nRateLimitBurst=0\n' > "$scratch/journald.conf"
mount --bind "$scratch/journald.conf" /etc/systemd/journald.conf
SYSTEMD_LOG_TARGET=console /lib/systemd/systemd-journald > "$scratch/journald.log" 2>&1 &
journald=$!
for _ in $(seq 250); do
  [ -S /run/systemd/journal/socket ] && break
  sleep 0.02
done
status=0
"$@" || status=$?
# Let journald take in the last datagrams before it stops.
sleep 0.3
kill "$journald"
wait "$journald" 2>/dev/null || true
exit "$status"
