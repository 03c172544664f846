#!/bin/bash
# End-to-end under a real systemd (PID 1 of private namespaces, see with-private-systemd.sh):
# the units as shipped, the built binaries, and checks through systemctl and journalctl inside.
# Prints one line per check and a closing "N passed, N failed"; exits non-zero if any failed.
# Cleans up namespaces, cgroups and files even when a check fails.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
name=renkei-e2e-$$
work=$(mktemp -d /tmp/renkei-e2e.XXXXXX)
launcher=
pid1=
passed=0
failed=0

cleanup() {
  if [ -n "${pid1:-}" ]; then
    nsenter -t "$pid1" -m -p -u -i -C systemctl poweroff >/dev/null 2>&1 || true
    for _ in $(seq 100); do kill -0 "$pid1" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid1" 2>/dev/null || true
  fi
  [ -n "$launcher" ] && { kill -9 "$launcher" 2>/dev/null || true; wait "$launcher" 2>/dev/null || true; }
  for cgroups in /sys/fs/cgroup/unified /sys/fs/cgroup; do
    [ -d "$cgroups/$name" ] || continue
    # Whatever is still in the test's cgroup goes.
    [ -e "$cgroups/$name/cgroup.kill" ] && echo 1 > "$cgroups/$name/cgroup.kill" 2>/dev/null
    find "$cgroups/$name" -name cgroup.procs -exec cat {} \; 2>/dev/null | xargs -r kill -9 2>/dev/null
    for _ in $(seq 50); do find "$cgroups/$name" -depth -type d -exec rmdir {} \; 2>/dev/null; [ -d "$cgroups/$name" ] || break; sleep 0.1; done
  done
  rm -rf "$work"
}
trap cleanup EXIT

check() {
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then echo "✔ $what"; passed=$((passed + 1)); else echo "✘ $what"; failed=$((failed + 1)); fi
}
eventually() { local seconds=$1; shift; for _ in $(seq $((seconds * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done; return 1; }
inside() { nsenter -t "$pid1" -m -p -u -i -C "$@"; }

mkdir -p "$work/bin" "$work/units" "$work/jobs"
cp "$repo/.build/debug/renkeid" "$repo/.build/debug/renkeictl" "$work/bin/"
cp "$repo"/Units/renkeid.service "$repo"/Units/renkei-report.service "$repo"/Units/renkei-report.timer \
   "$repo"/Units/renkei.sysusers "$repo"/Units/renkei.tmpfiles "$repo"/Units/renkei.catalog "$work/units/"
printf 'schedule: "*:*:0/2"\nsteps:\n  - name: tick\n    run: ["/bin/echo", "tick"]\n' > "$work/jobs/e2e-tick.yaml"
printf 'schedule: "*:*:0/3"\noverlap: skip\nsteps:\n  - name: deliver\n    run: ["/bin/sh", "-c", "echo no inbox >&2; exit 3"]\n' > "$work/jobs/e2e-fail.yaml"
printf 'steps:\n  - name: transfer\n    run: ["/bin/sleep", "300"]\n' > "$work/jobs/e2e-long.yaml"
printf 'steps:\n  - name: receive\n    receive: { from: /var/lib/renkei/e2e/outbox, file: IDO.csv, done_file: IDO.end, wait_until: 30s, take: move }\n  - name: deliver\n    deliver: { file: in/IDO.csv, to: /var/lib/renkei/e2e/inbox, as: IDO_e2e.csv }\n' > "$work/jobs/e2e-link.yaml"

setsid "$repo/Tests/Support/with-private-systemd.sh" "$name" "$work" > "$work/launcher.log" 2>&1 &
launcher=$!
for _ in $(seq 100); do
  # setsid → the launcher execs unshare, whose child becomes systemd (PID 1 inside).
  for candidate in $(pgrep -P "$launcher" 2>/dev/null) $(pgrep -P "$(pgrep -P "$launcher" 2>/dev/null | head -1)" 2>/dev/null); do
    [ "$(cat /proc/"$candidate"/comm 2>/dev/null)" = systemd ] && pid1=$candidate
  done
  [ -n "$pid1" ] && break
  pid1=
  sleep 0.1
done
[ -n "$pid1" ] || { echo "✘ systemd did not boot"; cat "$work/launcher.log"; echo "0 passed, 1 failed"; exit 1; }
# systemd is up once its private socket exists and it says it is running.
eventually 60 nsenter -t "$pid1" -m -p -u -i -C test -S /run/systemd/private
timeout 60 nsenter -t "$pid1" -m -p -u -i -C systemctl is-system-running --wait >/dev/null 2>&1
# A short watchdog, so the watchdog check takes seconds, not half a minute.
inside mkdir -p /etc/systemd/system/renkeid.service.d
inside sh -c 'printf "[Service]\nWatchdogSec=3s\nTimeoutAbortSec=2s\nRestartSec=1s\n" > /etc/systemd/system/renkeid.service.d/test.conf && systemctl daemon-reload'

check "systemctl start renkeid reaches active (running)" inside systemctl start renkeid
check "…with a STATUS= text" sh -c "nsenter -t $pid1 -m -p -u -i -C systemctl show -p StatusText --value renkeid | grep -q 'running.*queued'"
check "a scheduled job runs and is recorded" eventually 15 sh -c "nsenter -t $pid1 -m -p -u -i -C renkeictl history e2e-tick | grep -q succeeded"
check "a failing job shows in journalctl RENKEI_JOB= with RENKEI_ERROR_CLASS" eventually 15 sh -c \
  "nsenter -t $pid1 -m -p -u -i -C journalctl RENKEI_JOB=e2e-fail -o verbose --no-pager | grep -q 'RENKEI_ERROR_CLASS=exit'"
inside sh -c 'mkdir -p /var/lib/renkei/e2e/outbox /var/lib/renkei/e2e/inbox && printf "a,b\n" > /var/lib/renkei/e2e/outbox/IDO.csv && : > /var/lib/renkei/e2e/outbox/IDO.end && chown -R renkei:renkei /var/lib/renkei/e2e'
check "a link's receive and deliver steps run under the hardened unit" inside renkeictl run e2e-link --wait
check "…the file is delivered 0640 and taken from the outbox" sh -c \
  "[ \"\$(nsenter -t $pid1 -m -p -u -i -C stat -c %a /var/lib/renkei/e2e/inbox/IDO_e2e.csv)\" = 640 ] && ! nsenter -t $pid1 -m -p -u -i -C test -e /var/lib/renkei/e2e/outbox/IDO.csv"
check "…and each file is in the journal with RENKEI_FILE_SHA256" sh -c \
  "nsenter -t $pid1 -m -p -u -i -C journalctl RENKEI_JOB=e2e-link -o verbose --no-pager | grep -q 'RENKEI_FILE_SHA256=$(printf 'a,b\n' | sha256sum | cut -d' ' -f1)'"
inside useradd -M -G renkei alice
inside useradd -M bob
failedrun=$(inside sh -c "renkeictl history e2e-fail --json | sed -n 's/.*\"id\" : \\([0-9]*\\).*/\\1/p' | head -1")
check "an operator in group renkei can rerun the failed run" inside setpriv --reuid=alice --regid=alice --init-groups renkeictl rerun "$failedrun" --reason e2e
check "a user outside it is refused (exit 4)" sh -c "nsenter -t $pid1 -m -p -u -i -C setpriv --reuid=bob --regid=bob --init-groups renkeictl rerun $failedrun; [ \$? -eq 4 ]"
inside sh -c "printf 'steps:\n  - name: a\n    run: [\"/bin/true\"]\n' > /etc/renkei/jobs/e2e-new.yaml"
inside systemctl reload renkeid
check "systemctl reload picks up a new job file" eventually 10 sh -c "nsenter -t $pid1 -m -p -u -i -C renkeictl jobs | grep -q e2e-new"

inside renkeictl run e2e-long --reason watchdog >/dev/null
eventually 10 sh -c "nsenter -t $pid1 -m -p -u -i -C renkeictl history e2e-long | grep -q running"
main=$(inside systemctl show -p MainPID --value renkeid)
inside kill -STOP "$main"
check "a stopped daemon is killed by the watchdog and restarted (NRestarts=1)" eventually 30 sh -c \
  "[ \"\$(nsenter -t $pid1 -m -p -u -i -C systemctl show -p NRestarts --value renkeid)\" = 1 ] && nsenter -t $pid1 -m -p -u -i -C systemctl is-active renkeid"
check "the run it had in flight is recorded interrupted" eventually 15 sh -c "nsenter -t $pid1 -m -p -u -i -C renkeictl history e2e-long | grep -q interrupted"
check "…and its process is gone" sh -c "! nsenter -t $pid1 -m -p -u -i -C pgrep -x sleep"

inside renkeictl run e2e-long --reason stop >/dev/null
eventually 10 sh -c "nsenter -t $pid1 -m -p -u -i -C pgrep -x sleep"
check "systemctl stop renkeid" inside systemctl stop renkeid
check "…leaves no job process behind" sh -c "! nsenter -t $pid1 -m -p -u -i -C pgrep -x sleep"
check "…and records the run interrupted" sh -c "nsenter -t $pid1 -m -p -u -i -C renkeictl history e2e-long --limit 1 | grep -q interrupted"
check "renkei-report.service writes the report files" inside systemctl start renkei-report.service
check "…HTML and JSON in /var/lib/renkei/reports" sh -c "nsenter -t $pid1 -m -p -u -i -C sh -c 'ls /var/lib/renkei/reports/report-*.html /var/lib/renkei/reports/report-*.json'"

echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
