#!/bin/bash
# The peer of make bench's trigger latency: systemd's own `.path` unit (PathExistsGlob= on the done
# files) starting a oneshot service that runs the stamp child, under a real systemd booted as PID 1
# of private namespaces (Tests/Support/with-private-systemd.sh, as the end-to-end test boots it).
# The watched directory is reached from outside through /proc/PID1/root, so `renkei-bench
# trigger-latency` creates the files and reads the stamps exactly as it does for renkeid.
#   systemd-path-peer.sh RENKEI_BENCH RENKEI_BENCH_STAMP SAMPLES
# Prints trigger-latency's figures with systemd_version; when systemd cannot be booted here or the
# unit does not start the stamp, it exits 1, the reason on the last line of standard error. Cleans up namespaces, cgroups and files.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bench=$1
stamp=$2
samples=$3
name=renkei-bench-path-$$
work=$(mktemp -d /tmp/renkei-bench-path.XXXXXX)
launcher=
pid1=

cleanup() {
  if [ -n "$pid1" ]; then
    nsenter -t "$pid1" -m -p -u -i -C systemctl poweroff >/dev/null 2>&1 || true
    for _ in $(seq 100); do kill -0 "$pid1" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid1" 2>/dev/null || true
  fi
  [ -n "$launcher" ] && { kill -9 "$launcher" 2>/dev/null || true; wait "$launcher" 2>/dev/null || true; }
  for cgroups in /sys/fs/cgroup/unified /sys/fs/cgroup; do
    [ -d "$cgroups/$name" ] || continue
    [ -e "$cgroups/$name/cgroup.kill" ] && echo 1 > "$cgroups/$name/cgroup.kill" 2>/dev/null
    find "$cgroups/$name" -name cgroup.procs -exec cat {} \; 2>/dev/null | xargs -r kill -9 2>/dev/null
    for _ in $(seq 50); do find "$cgroups/$name" -depth -type d -exec rmdir {} \; 2>/dev/null; [ -d "$cgroups/$name" ] || break; sleep 0.1; done
  done
  rm -rf "$work"
}
trap cleanup EXIT
fail() { [ -s "$work/launcher.log" ] && tail -5 "$work/launcher.log" >&2; echo "$1" >&2; exit 1; }
inside() { nsenter -t "$pid1" -m -p -u -i -C "$@"; }

[ "$(id -u)" = 0 ] || fail "booting a private systemd needs root"
[ -x /lib/systemd/systemd ] || fail "no /lib/systemd/systemd"

# What with-private-systemd.sh installs (Renkei's units and binaries, one job); renkeid itself is
# not started there.
bin=$(dirname "$bench")
mkdir -p "$work/bin" "$work/units" "$work/jobs"
cp "$bin/renkeid" "$bin/renkeictl" "$work/bin/"
cp "$repo"/Units/renkeid.service "$repo"/Units/renkei-report.service "$repo"/Units/renkei-report.timer \
   "$repo"/Units/renkei.sysusers "$repo"/Units/renkei.tmpfiles "$repo"/Units/renkei.catalog "$work/units/"
printf 'steps:\n  - name: a\n    run: ["/bin/true"]\n' > "$work/jobs/idle.yaml"

setsid "$repo/Tests/Support/with-private-systemd.sh" "$name" "$work" > "$work/launcher.log" 2>&1 &
launcher=$!
for _ in $(seq 100); do
  # setsid → the launcher execs unshare, whose child becomes systemd (PID 1 inside).
  for candidate in $(pgrep -P "$launcher" 2>/dev/null) $(pgrep -P "$(pgrep -P "$launcher" 2>/dev/null | head -1)" 2>/dev/null); do
    [ "$(cat /proc/"$candidate"/comm 2>/dev/null)" = systemd ] && pid1=$candidate
  done
  [ -n "$pid1" ] && break
  kill -0 "$launcher" 2>/dev/null || fail "the private systemd's launcher exited"
  sleep 0.1
done
[ -n "$pid1" ] || fail "systemd did not start within 10 s"
for _ in $(seq 300); do inside test -S /run/systemd/private 2>/dev/null && break; sleep 0.2; done
timeout 60 nsenter -t "$pid1" -m -p -u -i -C systemctl is-system-running --wait >/dev/null 2>&1 || true
inside systemctl is-system-running >/dev/null 2>&1 || [ "$(inside systemctl is-system-running 2>/dev/null)" = degraded ] \
  || fail "the private systemd did not finish booting: $(inside systemctl is-system-running 2>&1 || true)"

root=/proc/$pid1/root
mkdir -p "$root/srv/renkei-bench/inbox"
install -m 755 "$stamp" "$root/usr/local/bin/renkei-bench-stamp"
cat > "$root/etc/systemd/system/renkei-bench-arrival.path" <<'UNIT'
[Unit]
Description=make bench: a done file in the inbox

[Path]
PathExistsGlob=/srv/renkei-bench/inbox/*.done
UNIT
# The stamp first; the done file is taken away after it, so the path unit does not fire again.
# No start limit: the default (5 starts in 10 s) would refuse the sixth file.
cat > "$root/etc/systemd/system/renkei-bench-arrival.service" <<'UNIT'
[Unit]
Description=make bench: stamp an arrival
StartLimitIntervalSec=0

[Service]
Type=oneshot
ExecStart=/usr/local/bin/renkei-bench-stamp path /srv/renkei-bench/stamps
ExecStartPost=/bin/sh -c 'rm -f /srv/renkei-bench/inbox/*.done'
UNIT
inside systemctl daemon-reload
inside systemctl start renkei-bench-arrival.path || fail "systemctl start renkei-bench-arrival.path failed"

figures=$("$bench" trigger-latency --directory "$root/srv/renkei-bench/inbox" --stamps "$root/srv/renkei-bench/stamps" --samples "$samples")
version=$(inside systemctl --version | awk 'NR == 1 { print $2 }')
echo "${figures%\}}, \"systemd_version\": ${version:-0}}"
