#!/bin/bash
# make bench: Renkei's figures next to the machine's floor and a peer, measured in one invocation
# so that ratios survive a noisy machine. Real daemon, real SQLite, real child processes, journal
# events to a real (private) journald when one can be started, else to the console sink.
#
#   make bench                      full sizes (about 12 minutes after the release build; a load
#                                   step where renkeid falls behind takes up to 3 minutes)
#   BENCH_SMOKE=1 Benchmarks/bench.sh   tiny sizes on the debug build: proves the scenarios work
#
# Prints a table; writes every figure to .build/bench/results.json. Sizes can be overridden:
# BENCH_JOBS BENCH_RUNS BENCH_DISPATCH BENCH_CONCURRENCY BENCH_IDLE_SECONDS BENCH_LATENCY_SLOTS
# BENCH_RERUNS BENCH_LINK_MIB BENCH_ARRIVALS BENCH_DATA_MIB BENCH_CHAIN BENCH_TRIGGER_SAMPLES; BENCH_PEER=0 leaves out
# the peers: APScheduler (which needs PyPI for its virtualenv) and systemd's .path unit (which boots a
# private systemd, root only). BENCH_CLUSTER=0 leaves out the nodes on PostgreSQL (sizes: CLUSTER_*
# in Benchmarks/cluster-bench.sh).
# Scheduled load: BENCH_LOAD_START (first N), BENCH_LOAD_MAX (largest N stepped to),
# BENCH_LOAD_WINDOW and BENCH_LOAD_WARMUP (seconds), BENCH_LOAD_SETTLE (seconds a window's rows
# may take to appear), BENCH_LOAD_STOP_TIMEOUT (seconds from SIGTERM to SIGKILL, as systemd's
# TimeoutStopSec), BENCH_LOAD_CONCURRENCY (the --max-concurrent of each pass, "default" for
# renkeid's own; a number equal to the default is not run twice).
# A defect (a slot without a row, a chain job that did not run exactly once, a daemon that did not
# stop) is listed after the table and makes the script exit 1, once every figure is written.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

if [ "${BENCH_SMOKE:-0}" = 1 ]; then
  : "${BENCH_CONFIGURATION:=debug}" "${BENCH_JOBS:=20}" "${BENCH_RUNS:=5000}" "${BENCH_DISPATCH:=60}" "${BENCH_IDLE_SECONDS:=2}"
  : "${BENCH_LATENCY_SLOTS:=3}" "${BENCH_RERUNS:=2}" "${BENCH_PEER:=0}" "${BENCH_LINK_MIB:=8}" "${BENCH_ARRIVALS:=3}" "${BENCH_DATA_MIB:=8}"
  : "${BENCH_LOAD_START:=5}" "${BENCH_LOAD_MAX:=10}" "${BENCH_LOAD_WINDOW:=3}" "${BENCH_LOAD_WARMUP:=1}"
  : "${BENCH_CHAIN:=5}" "${BENCH_TRIGGER_SAMPLES:=3}"
fi
configuration=${BENCH_CONFIGURATION:-release}
jobs=${BENCH_JOBS:-1000}
runs=${BENCH_RUNS:-1000000}
dispatch=${BENCH_DISPATCH:-5000}
concurrency=${BENCH_CONCURRENCY:-8}
idle=${BENCH_IDLE_SECONDS:-60}
slots=${BENCH_LATENCY_SLOTS:-120}
reruns=${BENCH_RERUNS:-20}
peer=${BENCH_PEER:-1}
linkMiB=${BENCH_LINK_MIB:-1024}
arrivalSamples=${BENCH_ARRIVALS:-20}
dataMiB=${BENCH_DATA_MIB:-1024}
loadStart=${BENCH_LOAD_START:-100}
loadMax=${BENCH_LOAD_MAX:-12800}
loadWindow=${BENCH_LOAD_WINDOW:-20}
loadWarmup=${BENCH_LOAD_WARMUP:-5}
loadSettle=${BENCH_LOAD_SETTLE:-60}
loadConcurrency=${BENCH_LOAD_CONCURRENCY:-default 8}
loadStopTimeout=${BENCH_LOAD_STOP_TIMEOUT:-90}
chain=${BENCH_CHAIN:-100}
triggerSamples=${BENCH_TRIGGER_SAMPLES:-20}
out=$repo/.build/bench
results=results.json; [ "${BENCH_SMOKE:-0}" = 1 ] && results=smoke-results.json
mkdir -p "$out"

# Build outside the journal's namespace, then measure inside it.
if [ -z "${RENKEI_BENCH_JOURNAL:-}" ]; then
  echo "building ($configuration)…"
  # Release as `make install` builds it: the Swift runtime linked in (faster start, less RSS),
  # product by product (GRDB's dynamic-library product does not link that way).
  static=""; [ "$configuration" = release ] && static=--static-swift-stdlib
  for product in renkeid renkeictl renkei-bench renkei-bench-stamp; do
    swift build -c "$configuration" $static --product "$product" >/dev/null
  done
  if [ "$(id -u)" = 0 ] && [ -x /lib/systemd/systemd-journald ] && unshare --mount --propagation=private true 2>/dev/null; then
    scratch=$(mktemp -d /tmp/renkei-bench-journal.XXXXXX)
    trap 'rm -rf "$scratch"' EXIT
    status=0
    unshare --mount --propagation=private "$repo/Tests/Support/with-private-journald.sh" "$scratch" \
      env RENKEI_BENCH_JOURNAL="$scratch/journal" "$0" "$@" || status=$?
    exit "$status"
  fi
  export RENKEI_BENCH_JOURNAL=none
fi
if [ "$RENKEI_BENCH_JOURNAL" = none ]; then logTarget=console; sink="console sink (no journald could be started)"
else logTarget=journal; sink="a private journald"; fi

bin=$repo/.build/$configuration
work=$(mktemp -d /tmp/renkei-bench.XXXXXX)
daemons=()
stop_daemons() { for pid in "${daemons[@]}"; do kill -TERM "$pid" 2>/dev/null && while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done; done; daemons=(); }
trap 'stop_daemons; rm -rf "$work"' EXIT
chmod 755 "$work"

figures=()  # "key": value
rows=()     # figure, Renkei, comparison, goal, verdict (separated by \x1f)
defects=()  # what Renkei did wrong, not a matter of speed
figure() { figures+=("\"$1\": $2"); }
row() { rows+=("$1"$'\x1f'"$2"$'\x1f'"$3"$'\x1f'"$4"$'\x1f'"$5"); }
# verdict CONDITION (awk syntax): "met" or "MISSED".
verdict() {
  if [ "${BENCH_SMOKE:-0}" = 1 ]; then echo "not judged (smoke)"; elif awk "BEGIN { exit !($1) }"; then echo met; else echo MISSED; fi
}
# json FIGURES KEY: one value out of a flat JSON line of renkei-bench or the peer.
json() { sed -E "s/.*\"$2\": \"?([^,\"}]*)\"?.*/\1/" <<< "$1"; }
fmt() { printf "%.${2:-2}f" "$1"; }
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); awk "BEGIN { printf \"%.4f\", $end - $start }"; }
# start_daemon JOBS STATE LOG [MAX_CONCURRENT]: renkeid as systemd starts it, with --max-concurrent
# $concurrency, or MAX_CONCURRENT ("default": the flag left out); sets $daemon and $ready.
start_daemon() {
  local figures limit=()
  [ "${4:-$concurrency}" = default ] || limit=(--max-concurrent "${4:-$concurrency}")
  figures=$("$bin/renkei-bench" start-daemon --log "$3" -- "$bin/renkeid" --jobs "$1" --state "$2" --socket "$2/control.sock" \
    "${limit[@]}" --log-target "$logTarget")
  daemon=$(json "$figures" pid | cut -d. -f1)
  ready=$(json "$figures" ready_seconds)
  daemons+=("$daemon")
}

echo "scenarios on $work, journal events to $sink"

# ---------------------------------------------------------------------------------------------
# The jobs: yearly on 1 January at a distinct minute, so that none falls due while measured.
mkdir -p "$work/jobs"
for i in $(seq 0 $((jobs - 1))); do
  printf 'schedule: "*-01-01 %02d:%02d:00"\nsteps:\n  - name: a\n    run: ["/bin/true"]\n' $((i / 60 % 24)) $((i % 60)) > "$work/jobs/job$i.yaml"
done
# The store: $runs runs of 1,000 other jobs over the past months (1 % failed), written straight
# into SQLite after one real run created it.
"$bin/renkeictl" run job0 --local --jobs "$work/jobs" --state "$work/state" >/dev/null
sqlite3 "$work/state/renkei.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < $runs)
INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at, started_at, finished_at, error_class, error_message)
SELECT 'stored' || (i % 1000), strftime('%s','now') - 10050000 + i * (10000000 / $runs), 'UTC', 'schedule', 1,
 CASE WHEN i % 97 = 0 THEN 'failed' ELSE 'succeeded' END, 'h', '{}', '{}',
 datetime(strftime('%s','now') - 10050000 + i * (10000000 / $runs), 'unixepoch'), datetime(strftime('%s','now') - 10050000 + i * (10000000 / $runs), 'unixepoch'),
 datetime(strftime('%s','now') - 10050000 + i * (10000000 / $runs) + 5, 'unixepoch'), CASE WHEN i % 97 = 0 THEN 'exit' END,
 CASE WHEN i % 97 = 0 THEN 'step a: exit status 1' END FROM n;"
echo "store: $(sqlite3 "$work/state/renkei.db" 'SELECT count(*) FROM run') runs; jobs: $jobs"

# ---------------------------------------------------------------------------------------------
# report and history read the store directly.
report=$(seconds "$bin/renkeictl" report --state "$work/state" --format json)
reportAll=$(seconds "$bin/renkeictl" report --state "$work/state" --since 2020-01-01 --format json)
history=$(seconds "$bin/renkeictl" history stored7 --state "$work/state")
figure report_seconds "$report"; figure report_all_runs_seconds "$reportAll"; figure history_seconds "$history"
row "report (default: last 7 days) over $runs runs" "$(fmt "$report" 3) s" "whole store: $(fmt "$reportAll" 2) s" "≤ 1 s" "$(verdict "$report <= 1")"
row "history JOB over $runs runs" "$(fmt "$(awk "BEGIN { print $history * 1000 }")" 1) ms" "" "≤ 50 ms" "$(verdict "$history <= 0.05")"

# ---------------------------------------------------------------------------------------------
# Link steps (the code a run's `renkeictl link-step` process runs, started as `renkeictl step`):
# receive + deliver of one $linkMiB MiB file, outbox → work directory → inbox, each hop hashed and
# synced, against `cp` + `sync` doing the same two hops; then the time from a done file's
# creation to a waiting receive step having taken its (small) file and exited.
mkdir -p "$work/link/jobs" "$work/link/outbox" "$work/link/inbox" "$work/link/cp"
chmod 755 "$work/link/jobs"
printf 'steps:
  - name: receive
    receive: { from: "%s", file: big.dat, done_file: big.end, wait_until: 1h }
  - name: deliver
    deliver: { file: in/big.dat, to: "%s", if_exists: replace }
' \
  "$work/link/outbox" "$work/link/inbox" > "$work/link/jobs/big.yaml"
printf 'steps:
  - name: receive
    receive: { from: "%s", file: "IDO_{date:%%Y%%m%%d}.csv", done_file: "IDO_{date:%%Y%%m%%d}.end", wait_until: 1h }
' \
  "$work/link/outbox" > "$work/link/jobs/arrival.yaml"
head -c $((linkMiB * 1048576)) /dev/urandom > "$work/link/outbox/big.dat"
: > "$work/link/outbox/big.end"
step() { "$bin/renkeictl" step "$@" --jobs "$work/link/jobs" --state "$work/link/state" >/dev/null; }
floorHops() { cp "$work/link/outbox/big.dat" "$work/link/cp/big.dat" && sync && cp "$work/link/cp/big.dat" "$work/link/inbox/cp.dat" && sync; }
renkeiHops() { rm -rf "$work/link/w"; step big receive --work-dir "$work/link/w" && step big deliver --work-dir "$work/link/w"; }
best() { awk 'BEGIN { m = 1e9 } { if ($1 < m) m = $1 } END { print m }'; }
sync
floorLink=$( { seconds floorHops; echo; seconds floorHops; echo; } | best)
renkeiLink=$( { seconds renkeiHops; echo; seconds renkeiHops; echo; } | best)
cmp -s "$work/link/outbox/big.dat" "$work/link/inbox/big.dat" || { echo "link bench: the delivered file differs from the source" >&2; exit 1; }
linkRate=$(awk "BEGIN { printf \"%.1f\", $linkMiB / $renkeiLink }"); floorLinkRate=$(awk "BEGIN { printf \"%.1f\", $linkMiB / $floorLink }")
linkRatio=$(awk "BEGIN { printf \"%.1f\", 100 * $floorLink / $renkeiLink }")
figure link_receive_deliver_mib_per_second "$linkRate"; figure link_cp_sync_mib_per_second "$floorLinkRate"; figure link_percent_of_cp_sync "$linkRatio"
row "receive + deliver of a $linkMiB MiB file (2 hops, hashed, synced)" "$(fmt "$renkeiLink" 2) s ($(fmt "$linkRate" 0) MiB/s)" \
  "cp + sync, same 2 hops: $(fmt "$floorLink" 2) s (${linkRatio} %)" "≥ 90 % of cp + sync" "$(verdict "$linkRatio >= 90")"
rm -f "$work/link/outbox/big.dat" "$work/link/inbox/big.dat" "$work/link/inbox/cp.dat" "$work/link/cp/big.dat"; rm -rf "$work/link/w"
arrivals=()
for i in $(seq 1 "$arrivalSamples"); do
  day=$(date -u -d "2026-01-01 +$i days" +%Y%m%d)
  printf 'record %s\n' "$i" > "$work/link/outbox/IDO_$day.csv"
  "$bin/renkeictl" step arrival receive --jobs "$work/link/jobs" --state "$work/link/state" --work-dir "$work/link/a$i" \
    --logical-time "${day:0:4}-${day:4:2}-${day:6:2}" >/dev/null &
  waiting=$!
  sleep 0.5
  t0=$(date +%s%N); : > "$work/link/outbox/IDO_$day.end"; wait "$waiting"; t1=$(date +%s%N)
  arrivals+=("$(( (t1 - t0) / 1000 ))")
done
arrivalP50=$(printf '%s\n' "${arrivals[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.1f", a[int((NR + 1) / 2)] / 1000 }')
arrivalMax=$(printf '%s\n' "${arrivals[@]}" | sort -n | tail -1 | awk '{ printf "%.1f", $1 / 1000 }')
figure link_done_file_p50_ms "$arrivalP50"; figure link_done_file_max_ms "$arrivalMax"
row "done file created → receive step took the file and ended ($arrivalSamples)" "p50 $(fmt "$arrivalP50" 1) ms" "max $(fmt "$arrivalMax" 1) ms" \
  "p50 ≤ 50 ms" "$(verdict "$arrivalP50 <= 50")"

# ---------------------------------------------------------------------------------------------
# Data steps: check and convert of a $dataMiB MiB CP932 CSV (names, addresses, amounts; CRLF;
# a trailer with the count), against `iconv -f CP932 -t UTF-8 | wc -l` on the same file; peak
# RSS of each (GNU time).
awk 'BEGIN { printf "異動日,住民番号,氏名,住所\r\n"; for (i = 1; i <= 8192; i++) printf "2026-12-01,%09d,山田 太郎%d,東京都千代田区霞が関一丁目%d番地\r\n", i, i % 97, i % 13 }' \
  | iconv -f UTF-8 -t CP932 > "$work/data-chunk.csv"
chunkBytes=$(stat -c %s "$work/data-chunk.csv")
chunks=$(( dataMiB * 1048576 / chunkBytes + 1 ))
tail -n +2 "$work/data-chunk.csv" > "$work/data-body.csv"
{ head -n 1 "$work/data-chunk.csv"; for _ in $(seq "$chunks"); do cat "$work/data-body.csv"; done; printf 'TRAILER,%d\r\n' $(( chunks * 8192 )); } > "$work/data.csv"
dataBytes=$(stat -c %s "$work/data.csv")
peak() { /usr/bin/time -f %M -o "$work/peak" "$@" >/dev/null 2>&1 || true; cat "$work/peak"; }
iconvSeconds=$( { seconds sh -c "iconv -f CP932 -t UTF-8 '$work/data.csv' | wc -l"; echo; seconds sh -c "iconv -f CP932 -t UTF-8 '$work/data.csv' | wc -l"; echo; } | best)
convertSeconds=$( { seconds "$bin/renkeictl" convert-file "$work/data.csv" "$work/data.utf8.csv" --from cp932 --to-encoding utf-8; echo
                    seconds "$bin/renkeictl" convert-file "$work/data.csv" "$work/data.utf8.csv" --from cp932 --to-encoding utf-8; echo; } | best)
checkArgs=(check-file "$work/data.csv" --encoding cp932 --newline crlf --header 異動日,住民番号,氏名,住所 --columns 4 --count-trailer '^TRAILER,(\d+)$' --characters jisx0208)
checkSeconds=$( { seconds "$bin/renkeictl" "${checkArgs[@]}"; echo; seconds "$bin/renkeictl" "${checkArgs[@]}"; echo; } | best)
"$bin/renkeictl" "${checkArgs[@]}" >/dev/null || { echo "data bench: the generated file did not pass its check" >&2; exit 1; }
convertPeak=$(peak "$bin/renkeictl" convert-file "$work/data.csv" "$work/data.utf8.csv" --from cp932 --to-encoding utf-8)
checkPeak=$(peak "$bin/renkeictl" "${checkArgs[@]}")
dataMiBExact=$(awk "BEGIN { printf \"%.0f\", $dataBytes / 1048576 }")
convertRatio=$(awk "BEGIN { printf \"%.0f\", 100 * $iconvSeconds / $convertSeconds }")
figure data_file_bytes "$dataBytes"; figure convert_seconds "$convertSeconds"; figure check_seconds "$checkSeconds"; figure iconv_wc_seconds "$iconvSeconds"
figure convert_percent_of_iconv "$convertRatio"; figure convert_peak_rss_kib "$convertPeak"; figure check_peak_rss_kib "$checkPeak"
row "convert cp932 → utf-8 of a $dataMiBExact MiB CSV (validated)" "$(fmt "$convertSeconds" 2) s, peak RSS $(( convertPeak / 1024 )) MiB" \
  "iconv | wc -l: $(fmt "$iconvSeconds" 2) s (${convertRatio} % of its speed)" "≥ 100 % of iconv, ≤ 64 MB" \
  "$(verdict "$convertRatio >= 100 && $convertPeak * 1024 <= 64000000")"
row "check of the same file (header, columns, trailer count, jisx0208)" "$(fmt "$checkSeconds" 2) s, peak RSS $(( checkPeak / 1024 )) MiB" \
  "$(fmt "$(awk "BEGIN { print $dataBytes / 1048576 / $checkSeconds }")" 0) MiB/s" "≤ 64 MB" "$(verdict "$checkPeak * 1024 <= 64000000")"
rm -f "$work/data.csv" "$work/data.utf8.csv" "$work/data-body.csv" "$work/data-chunk.csv"

# ---------------------------------------------------------------------------------------------
# Start-up, then idle: $jobs job files and the store, until READY=1; then $idle s of nothing due.
start_daemon "$work/jobs" "$work/state" "$work/daemon.log"
figure startup_seconds "$ready"
row "start-up to READY=1 ($jobs jobs, $runs runs)" "$(fmt "$ready" 3) s" "" "≤ 0.5 s" "$(verdict "$ready <= 0.5")"
ticks0=$(awk '{ print $14 + $15 }' "/proc/$daemon/stat")
sleep "$idle"
ticks1=$(awk '{ print $14 + $15 }' "/proc/$daemon/stat")
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$daemon/status")
cpu=$(awk "BEGIN { printf \"%.4f\", ($ticks1 - $ticks0) * 100 / $(getconf CLK_TCK) / $idle }")
figure idle_rss_kib "$rss"; figure idle_cpu_percent "$cpu"
row "idle RSS ($jobs jobs, ${idle} s)" "$(fmt "$(awk "BEGIN { print $rss / 1024 }")" 1) MiB" "" "≤ 25 MB" "$(verdict "$rss * 1024 <= 25000000")"
row "idle CPU ($jobs jobs, ${idle} s)" "$(fmt "$cpu" 3) %" "" "≤ 0.1 %" "$(verdict "$cpu <= 0.1")"

# ---------------------------------------------------------------------------------------------
# Rerun round trip, on the idle daemon as an operator meets it: a job that always fails, added by
# a reload; each rerun asked for, timed until renkeictl exits (it does once the new run's row is
# committed), then the rerun is let fail.
printf 'steps:\n  - name: a\n    run: ["/bin/false"]\n' > "$work/jobs/always-fails.yaml"
kill -HUP "$daemon"
until "$bin/renkeictl" jobs --socket "$work/state/control.sock" 2>/dev/null | grep -q always-fails; do sleep 0.05; done
first=$("$bin/renkeictl" run always-fails --wait --socket "$work/state/control.sock" 2>&1 | grep -oE 'as run [0-9]+' | head -1 | cut -d' ' -f3 || true)
rerun=$("$bin/renkei-bench" rerun --socket "$work/state/control.sock" --database "$work/state/renkei.db" --renkeictl "$bin/renkeictl" \
  --run "$first" --times "$reruns")
rerunP50=$(json "$rerun" renkeictl_p50_ms)
figure rerun_renkeictl_p50_ms "$rerunP50"; figure rerun_renkeictl_max_ms "$(json "$rerun" renkeictl_max_ms)"
figure rerun_socket_p50_ms "$(json "$rerun" socket_p50_ms)"
row "rerun round trip (renkeictl → row committed)" "p50 $(fmt "$rerunP50" 1) ms" \
  "max $(fmt "$(json "$rerun" renkeictl_max_ms)" 1) ms; socket alone p50 $(fmt "$(json "$rerun" socket_p50_ms)" 2) ms" "≤ 20 ms" "$(verdict "$rerunP50 <= 20")"

# ---------------------------------------------------------------------------------------------
# Dispatch: $dispatch runs of /bin/true asked for at once through the control socket, each
# recorded (run row queued → running → succeeded, step row, journal events), against the floor
# and APScheduler 3.x, all with $concurrency at once.
renkei=$("$bin/renkei-bench" dispatch --socket "$work/state/control.sock" --database "$work/state/renkei.db" --count "$dispatch" --jobs "$jobs")
floor=$("$bin/renkei-bench" floor --count "$dispatch" --concurrency "$concurrency")
rate=$(json "$renkei" runs_per_second); floorRate=$(json "$floor" runs_per_second)
ratio=$(awk "BEGIN { printf \"%.1f\", 100 * $rate / $floorRate }")
figure dispatch_runs_per_second "$rate"; figure dispatch_floor_runs_per_second "$floorRate"; figure dispatch_percent_of_floor "$ratio"
peerText="APScheduler: not measured (BENCH_PEER=0)"; peerMet=1
if [ "$peer" = 1 ]; then
  venv=$out/venv
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import apscheduler' 2>/dev/null; then
    python3 -m venv "$venv" && "$venv/bin/pip" install --quiet 'apscheduler>=3.10,<4' || true
  fi
  if peerFigures=$("$venv/bin/python" "$repo/Benchmarks/apscheduler_dispatch.py" "$dispatch" "$concurrency"); then
    peerRate=$(json "$peerFigures" runs_per_second)
    figure dispatch_apscheduler_runs_per_second "$peerRate"
    peerText="APScheduler $(json "$peerFigures" version): $(fmt "$peerRate" 0)/s"
    peerMet=$(awk "BEGIN { print ($rate > $peerRate) }")
  else
    peerText="APScheduler: could not be installed or run (see above)"
  fi
fi
row "dispatch, $dispatch runs of /bin/true" "$(fmt "$rate" 0) runs/s" "floor $(fmt "$floorRate" 0)/s (${ratio} %); $peerText" \
  "≥ 60 % of floor, > APScheduler" "$(verdict "$ratio >= 60 && $peerMet == 1")"
# Where a run's time goes: the step executor alone (swift-subprocess, no store, no scheduler),
# and a run's store writes one after another on a fresh store.
executor=$("$bin/renkei-bench" executor --count "$dispatch" --concurrency "$concurrency")
writes=$("$bin/renkei-bench" store --database "$work/writes.db" --count "$(( dispatch < 1000 ? dispatch : 1000 ))")
figure dispatch_executor_alone_runs_per_second "$(json "$executor" runs_per_second)"
figure store_writes_per_run_ms "$(json "$writes" run_total_ms)"
row "  where it goes: executor alone; a run's store writes" "$(fmt "$(json "$executor" runs_per_second)" 0) runs/s" \
  "$(fmt "$(json "$writes" run_total_ms)" 2) ms of writes per run, one writer" "" ""

stop_daemons

# ---------------------------------------------------------------------------------------------
# Chain hops: $chain jobs, each `after:` the one before; the first, with no schedule, started by
# `renkeictl run` over the socket; every step /bin/true. A hop is one run's finished_at to the next
# job's run started_at, read from the store once the chain ended: text with whole ms, coarse for
# hops of a few ms (each within 1 ms either way) but the whole hop. Beside it, when renkeid logs
# to the private journald, the same hops between its run-succeeded and run-started events, stamped
# in µs by journald, which bracket less (sent after the end's commit; once the next row is queued,
# before its work directory). Each job must have run exactly once, succeeded, with trigger
# `after` (the first: `manual`), or it is a defect.
mkdir -p "$work/chain-jobs"
chmod 755 "$work/chain-jobs"
printf 'steps:\n  - name: a\n    run: ["/bin/true"]\n' > "$work/chain-jobs/chain0.yaml"
for i in $(seq 1 $((chain - 1))); do
  printf 'after: [chain%d]\nsteps:\n  - name: a\n    run: ["/bin/true"]\n' $((i - 1)) > "$work/chain-jobs/chain$i.yaml"
done
start_daemon "$work/chain-jobs" "$work/chain-state" "$work/chain-daemon.log"
"$bin/renkeictl" run chain0 --socket "$work/chain-state/control.sock" >/dev/null
journalArgs=(); [ "$RENKEI_BENCH_JOURNAL" = none ] || journalArgs=(--journal "$RENKEI_BENCH_JOURNAL")
chainFigures=$("$bin/renkei-bench" chain-figures --database "$work/chain-state/renkei.db" --jobs "$chain" "${journalArgs[@]}")
stop_daemons
chainDefects=()
count=$(json "$chainFigures" jobs_not_run_once | cut -d. -f1); [ "$count" = 0 ] || chainDefects+=("$count of $chain jobs did not run exactly once")
count=$(json "$chainFigures" runs_not_succeeded | cut -d. -f1); [ "$count" = 0 ] || chainDefects+=("$count of $chain jobs did not succeed")
count=$(json "$chainFigures" runs_with_other_trigger | cut -d. -f1); [ "$count" = 0 ] || chainDefects+=("$count of $chain runs had another trigger than after (manual for the first)")
hopP50=$(json "$chainFigures" hop_p50_ms)
for key in hop_p50_ms hop_p99_ms hop_max_ms chain_seconds; do figure "chain_$key" "$(json "$chainFigures" "$key")"; done
if [[ "$chainFigures" == *journal_hop_p50_ms* ]]; then
  figure chain_journal_hop_p50_ms "$(json "$chainFigures" journal_hop_p50_ms)"; figure chain_journal_hop_p99_ms "$(json "$chainFigures" journal_hop_p99_ms)"
  chainJournal="journal run-succeeded → run-started (µs, a narrower span) p50 $(fmt "$(json "$chainFigures" journal_hop_p50_ms)" 2) ms, p99 $(fmt "$(json "$chainFigures" journal_hop_p99_ms)" 2) ms"
else
  chainJournal="no journal events to compare (console sink)"
fi
chainVerdict=$(verdict "$hopP50 >= 0 && $hopP50 <= 5")
if [ "${#chainDefects[@]}" -gt 0 ]; then
  cp "$work/chain-daemon.log" "$out/chain-daemon.log"
  for defect in "${chainDefects[@]}"; do defects+=("chain of $chain jobs: $defect (see renkei-bench's message above; daemon log: $out/chain-daemon.log)"); done
  chainVerdict="DEFECT: $(IFS=';'; echo "${chainDefects[*]}" | sed 's/;/; /g')"
fi
row "chain of $chain jobs (after:), finished_at → next job's started_at, per hop (store, whole ms)" \
  "p50 $(fmt "$hopP50" 0) ms, p99 $(fmt "$(json "$chainFigures" hop_p99_ms)" 0) ms, max $(fmt "$(json "$chainFigures" hop_max_ms)" 0) ms" \
  "whole chain $(fmt "$(json "$chainFigures" chain_seconds)" 2) s; $chainJournal" "p50 ≤ 5 ms" "$chainVerdict"

# ---------------------------------------------------------------------------------------------
# Trigger latency: one job with `trigger:` (done_file mode) on a directory, its step the stamp
# child; $triggerSamples data files one at a time, each followed 0.5 s later by its done file; from
# the done file's creation (the clock read right before its open) to the child's exec. Each file
# must start exactly one run (trigger `file`) that succeeds. Peer: systemd's own `.path` unit
# (PathExistsGlob= on the done files) starting a oneshot service that runs the same child, the same
# files created the same way, under a real systemd booted as PID 1 of private namespaces
# (Benchmarks/systemd-path-peer.sh), when BENCH_PEER=1 and this machine lets it boot.
mkdir -p "$work/trigger-jobs" "$work/trigger-inbox"
chmod 755 "$work/trigger-jobs" "$work/trigger-inbox"
printf 'trigger:
  path: "%s"
  file: "sample_*.csv"
  date_from_name: "sample_{date:%%Y%%m%%d}.csv"
  complete_when: done_file
  done_file: "sample_{date:%%Y%%m%%d}.done"
steps:
  - name: stamp
    run: ["%s", "trigger", "%s"]
' "$work/trigger-inbox" "$bin/renkei-bench-stamp" "$work/trigger-stamps" > "$work/trigger-jobs/arrives.yaml"
start_daemon "$work/trigger-jobs" "$work/trigger-state" "$work/trigger-daemon.log"
triggerDefects=()
trigger=$("$bin/renkei-bench" trigger-latency --directory "$work/trigger-inbox" --stamps "$work/trigger-stamps" --samples "$triggerSamples") \
  || { trigger='{"p50_ms": -1, "p99_ms": -1, "max_ms": -1}'; triggerDefects+=("a done file did not start its run's step once (see renkei-bench's message above)"); }
sleep 0.5
stop_daemons
fileRuns=$(sqlite3 "$work/trigger-state/renkei.db" "SELECT count(*) FROM run WHERE job = 'arrives' AND trigger = 'file' AND state = 'succeeded'")
otherRuns=$(sqlite3 "$work/trigger-state/renkei.db" "SELECT count(*) FROM run WHERE job = 'arrives' AND NOT (trigger = 'file' AND state = 'succeeded')")
[ "$fileRuns" = "$triggerSamples" ] && [ "$otherRuns" = 0 ] || \
  triggerDefects+=("$triggerSamples files gave $fileRuns succeeded runs with trigger file and $otherRuns other runs")
triggerP50=$(json "$trigger" p50_ms)
figure trigger_p50_ms "$triggerP50"; figure trigger_p99_ms "$(json "$trigger" p99_ms)"; figure trigger_max_ms "$(json "$trigger" max_ms)"
triggerPeerText="systemd .path unit: not measured (BENCH_PEER=0)"
if [ "$peer" = 1 ]; then
  if [ "$(ps -p 1 -o comm= 2>/dev/null)" = systemd ]; then pid1Text="systemd is PID 1 here, but"; else pid1Text="no systemd as PID 1 here ($(ps -p 1 -o comm= 2>/dev/null || echo unknown)), and"; fi
  if pathPeer=$("$repo/Benchmarks/systemd-path-peer.sh" "$bin/renkei-bench" "$bin/renkei-bench-stamp" "$triggerSamples" 2>"$work/path-peer.err"); then
    figure trigger_systemd_path_p50_ms "$(json "$pathPeer" p50_ms)"; figure trigger_systemd_path_p99_ms "$(json "$pathPeer" p99_ms)"
    figure trigger_systemd_path_max_ms "$(json "$pathPeer" max_ms)"
    triggerPeerText="systemd $(json "$pathPeer" systemd_version | cut -d. -f1) .path unit (private PID 1): p50 $(fmt "$(json "$pathPeer" p50_ms)" 2) ms, p99 $(fmt "$(json "$pathPeer" p99_ms)" 2) ms, max $(fmt "$(json "$pathPeer" max_ms)" 2) ms"
  else
    cat "$work/path-peer.err" >&2
    triggerPeerText="systemd .path unit: not measured ($pid1Text the private systemd's .path unit could not be measured: $(tail -1 "$work/path-peer.err"))"
  fi
fi
triggerVerdict=$(verdict "$triggerP50 >= 0 && $triggerP50 <= 20")
if [ "${#triggerDefects[@]}" -gt 0 ]; then
  cp "$work/trigger-daemon.log" "$out/trigger-daemon.log"
  for defect in "${triggerDefects[@]}"; do defects+=("trigger latency: $defect (daemon log: $out/trigger-daemon.log)"); done
  triggerVerdict="DEFECT: $(IFS=';'; echo "${triggerDefects[*]}" | sed 's/;/; /g')"
fi
row "trigger: done file created → step's exec ($triggerSamples files)" \
  "p50 $(fmt "$triggerP50" 2) ms, p99 $(fmt "$(json "$trigger" p99_ms)" 2) ms, max $(fmt "$(json "$trigger" max_ms)" 2) ms" \
  "$triggerPeerText" "p50 ≤ 20 ms" "$triggerVerdict"

# ---------------------------------------------------------------------------------------------
# Schedule latency: $jobs jobs, each at its own second from T0; the step is the stamp child,
# which writes the wall clock at its start. $slots slots are measured; then the floor: a loop
# that sleeps to each second and spawns the same child; then APScheduler 3.x holding $jobs jobs
# the same way (a cron trigger of one second each), spawning the same child. The floor and the
# peer measure $floorSlots slots each.
mkdir -p "$work/latency-jobs"
chmod 755 "$work/latency-jobs"
t0=$(( $(date +%s) + 5 ))
for i in $(seq 0 $((jobs - 1))); do
  slot=$((t0 + i))
  printf 'schedule: "%s"\ntimezone: UTC\nsteps:\n  - name: stamp\n    run: ["%s", "%s", "%s"]\n' \
    "$(date -u -d "@$slot" '+%Y-%m-%d %H:%M:%S')" "$bin/renkei-bench-stamp" "$slot" "$work/stamps" > "$work/latency-jobs/at$i.yaml"
done
start_daemon "$work/latency-jobs" "$work/latency-state" "$work/latency-daemon.log"
sleep $(( t0 + slots - $(date +%s) + 1 ))
stop_daemons
floorSlots=$(( slots < 30 ? slots : 30 ))
"$bin/renkei-bench" latency-floor --start $(( $(date +%s) + 2 )) --slots "$floorSlots" \
  --stamp "$bin/renkei-bench-stamp" --output "$work/floor-stamps"
latency=$("$bin/renkei-bench" latency-figures "$work/stamps")
floorLatency=$("$bin/renkei-bench" latency-figures "$work/floor-stamps")
p50=$(json "$latency" p50_ms); p99=$(json "$latency" p99_ms)
floorP50=$(json "$floorLatency" p50_ms); floorP99=$(json "$floorLatency" p99_ms)
figure latency_samples "$(json "$latency" samples)"; figure latency_p50_ms "$p50"; figure latency_p99_ms "$p99"
figure latency_max_ms "$(json "$latency" max_ms)"
figure latency_floor_p50_ms "$floorP50"; figure latency_floor_p99_ms "$floorP99"
peerLatencyText="APScheduler: not measured (BENCH_PEER=0)"; peerLatencyMet=1
if [ "$peer" = 1 ]; then
  peerLatencyText="APScheduler: could not be installed or run (see above)"; peerLatencyMet=0
  if [ -x "$venv/bin/python" ] && peerVersion=$("$venv/bin/python" "$repo/Benchmarks/apscheduler_latency.py" "$jobs" $(( $(date +%s) + 3 )) \
       "$floorSlots" "$bin/renkei-bench-stamp" "$work/apscheduler-stamps" "$concurrency"); then
    peerLatency=$("$bin/renkei-bench" latency-figures "$work/apscheduler-stamps")
    peerP50=$(json "$peerLatency" p50_ms); peerP99=$(json "$peerLatency" p99_ms)
    figure latency_apscheduler_p50_ms "$peerP50"; figure latency_apscheduler_p99_ms "$peerP99"
    peerLatencyText="APScheduler $(json "$peerVersion" version) p50 $(fmt "$peerP50" 2) ms, p99 $(fmt "$peerP99" 2) ms"
    peerLatencyMet=$(awk "BEGIN { print ($p50 < $peerP50 && $p99 < $peerP99) }")
  fi
fi
row "schedule latency, slot → exec ($(json "$latency" samples | cut -d. -f1) slots; floor and peer $floorSlots)" "p50 $(fmt "$p50" 2) ms, p99 $(fmt "$p99" 2) ms" \
  "floor p50 $(fmt "$floorP50" 2) ms, p99 $(fmt "$floorP99" 2) ms; $peerLatencyText" "p50 ≤ floor + 1 ms, p99 ≤ floor + 3 ms, < APScheduler" \
  "$(verdict "$p50 <= $floorP50 + 1 && $p99 <= $floorP99 + 3 && $peerLatencyMet == 1")"

# ---------------------------------------------------------------------------------------------
# Scheduled load: N jobs each due every second (`*:*:*`, /bin/true), on a fresh state directory
# and daemon for each N. After $loadWarmup s, a window of $loadWindow s: runs completed in it
# (scheduled, succeeded, finished_at in the window) per second, skipped and missed slots per
# second, and every slot of every job in the window checked to have exactly one row. N doubles
# from $loadStart while the completed rate still rises (by more than 10 % over the best so far),
# up to $loadMax; then overload: 4× the N of the peak. One pass per --max-concurrent in
# $loadConcurrency. The floor is the posix_spawn loop of the dispatch scenario, measured again here.
sleep_until() { local wait; wait=$(awk "BEGIN { print $1 - $(date +%s.%N) }"); awk "BEGIN { exit !($wait > 0) }" && sleep "$wait"; return 0; }
loadSteps=()
# load_step N MAX_CONCURRENT: sets $step (the figures of renkei-bench load-figures, with the
# daemon's CPU over the window and how long it took to stop) and $stepDefects (what Renkei did
# wrong: a slot without a row or with several, a succeeded run without its step, a daemon that
# died or did not stop). A step with defects keeps its jobs, store and log in $out/defects.
load_step() {
  local n=$1 limit=$2 dir=$work/load/$2-$1 from ticks0 ticks1 cpu=-1 stopBegan stopSeconds count began=$SECONDS
  stepDefects=()
  mkdir -p "$dir/jobs"; chmod 755 "$work/load" "$dir" "$dir/jobs"
  for i in $(seq 0 $((n - 1))); do
    printf 'schedule: "*:*:*"\nsteps:\n  - name: a\n    run: ["/bin/true"]\n' > "$dir/jobs/load$i.yaml"
  done
  start_daemon "$dir/jobs" "$dir/state" "$dir/daemon.log" "$limit"
  from=$(( $(date +%s) + 1 + loadWarmup ))
  sleep_until "$from"
  ticks0=$(awk '{ print $14 + $15 }' "/proc/$daemon/stat")
  sleep_until $(( from + loadWindow ))
  if ticks1=$(awk '{ print $14 + $15 }' "/proc/$daemon/stat" 2>/dev/null); then
    cpu=$(awk "BEGIN { printf \"%.1f\", ($ticks1 - $ticks0) * 100 / $(getconf CLK_TCK) / $loadWindow }")
  else
    stepDefects+=("renkeid exited during the window")
  fi
  step=$("$bin/renkei-bench" load-figures --database "$dir/state/renkei.db" --jobs "$n" --from "$from" --seconds "$loadWindow" --settle "$loadSettle")
  # Stopped as systemd stops it: SIGTERM, then SIGKILL after TimeoutStopSec (renkeid.service: 90 s).
  stopBegan=$(date +%s.%N)
  kill -TERM "$daemon" 2>/dev/null || true
  until ! kill -0 "$daemon" 2>/dev/null || awk "BEGIN { exit !($(date +%s.%N) - $stopBegan > $loadStopTimeout) }"; do sleep 0.1; done
  stopSeconds=$(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $stopBegan }")
  if kill -0 "$daemon" 2>/dev/null; then
    kill -KILL "$daemon"
    stopSeconds=-1
    stepDefects+=("renkeid did not stop within ${loadStopTimeout} s of SIGTERM (killed, as systemd would)")
  fi
  while kill -0 "$daemon" 2>/dev/null; do sleep 0.05; done
  daemons=()
  step="${step%\}}, \"jobs\": $n, \"max_concurrent\": \"$limit\", \"daemon_cpu_percent\": $cpu, \"stop_seconds\": $stopSeconds}"
  loadSteps+=("$step")
  count=$(json "$step" slots_without_row | cut -d. -f1)
  [ "$count" = 0 ] || stepDefects+=("$count of $(json "$step" slots | cut -d. -f1) slots without a row ${loadSettle} s after the window")
  count=$(json "$step" slots_with_several_rows | cut -d. -f1)
  [ "$count" = 0 ] || stepDefects+=("$count slots with several rows")
  count=$(json "$step" runs_without_step | cut -d. -f1)
  [ "$count" = 0 ] || stepDefects+=("$count succeeded runs without their step succeeded")
  if [ "${#stepDefects[@]}" -gt 0 ]; then
    rm -rf "$out/defects/$limit-$n"; mkdir -p "$out/defects"; mv "$dir" "$out/defects/$limit-$n"
    for defect in "${stepDefects[@]}"; do
      defects+=("scheduled load, $n jobs, max-concurrent $limit: $defect (jobs, store, log: $out/defects/$limit-$n)")
      echo "renkei-bench: DEFECT: $defect ($n jobs, max-concurrent $limit)" >&2
    done
  else
    rm -rf "$dir"
  fi
  echo "  scheduled load, max-concurrent $limit, $n jobs: $(fmt "$(json "$step" runs_per_second)" 1) runs/s, skipped $(fmt "$(json "$step" skipped_per_second)" 1)/s, missed $(fmt "$(json "$step" missed_per_second)" 1)/s, stopped in $stopSeconds s ($(( SECONDS - began )) s)"
}
# load_row LABEL: the table row of $step.
load_row() {
  local lag="no scheduled run started" other="" verdictText="every slot one row"
  awk "BEGIN { exit !($(json "$step" start_lag_p50_ms) >= 0) }" && \
    lag="start lag p50 $(fmt "$(json "$step" start_lag_p50_ms)" 0) ms, p99 $(fmt "$(json "$step" start_lag_p99_ms)" 0) ms"
  [ "$(json "$step" other_rows | cut -d. -f1)" = 0 ] || other="$other; $(json "$step" other_rows | cut -d. -f1) rows neither succeeded, skipped nor missed"
  [ "$(json "$step" catch_up_runs | cut -d. -f1)" = 0 ] || other="$other; $(json "$step" catch_up_runs | cut -d. -f1) catch-up runs"
  [ "${#stepDefects[@]}" = 0 ] || verdictText="DEFECT: $(IFS=';'; echo "${stepDefects[*]}" | sed 's/;/; /g')"
  row "$1" "$(fmt "$(json "$step" runs_per_second)" 0) runs/s" \
    "skipped $(fmt "$(json "$step" skipped_per_second)" 0)/s, missed $(fmt "$(json "$step" missed_per_second)" 0)/s; $lag; renkeid CPU $(fmt "$(json "$step" daemon_cpu_percent)" 0) %$other" \
    "" "$verdictText"
}

loadBegan=$SECONDS
loadFloor=$("$bin/renkei-bench" floor --count "$dispatch" --concurrency "$concurrency")
loadFloorRate=$(json "$loadFloor" runs_per_second)
figure scheduled_load_floor_runs_per_second "$loadFloorRate"
defaultLimit=$("$bin/renkeid" --help 2>&1 | awk '/^ +--max-concurrent / { f = 1 } f' | head -4 | grep -oE 'default: [0-9]+' | head -1 | cut -d' ' -f2 || true)
passes=()
for limit in $loadConcurrency; do
  if [ "$limit" != default ] && [ "$limit" = "$defaultLimit" ] && [[ " $loadConcurrency " == *" default "* ]]; then
    echo "scheduled load: --max-concurrent $limit is renkeid's default; measured once"
    continue
  fi
  passes+=("$limit")
done
firstPass=1
for limit in "${passes[@]}"; do
  if [ "$limit" = default ]; then what="max-concurrent: renkeid's default${defaultLimit:+, $defaultLimit}"; else what="max-concurrent $limit"; fi
  if [ "$firstPass" = 1 ]; then key=""; figure scheduled_load_max_concurrent "\"$limit${defaultLimit:+ ($defaultLimit)}\""; else key="_max_concurrent_$limit"; fi
  n=$loadStart; peak=0; peakN=0
  while :; do
    load_step "$n" "$limit"
    rate=$(json "$step" runs_per_second)
    load_row "scheduled load, $n jobs due every second ($what)"
    rising=$(awk "BEGIN { print ($rate > 1.1 * $peak) }")
    if awk "BEGIN { exit !($rate > $peak) }"; then peak=$rate; peakN=$n; fi
    [ "$rising" = 1 ] && [ $(( n * 2 )) -le "$loadMax" ] || break
    n=$(( n * 2 ))
  done
  if [ "$peakN" = 0 ]; then
    defects+=("scheduled load, max-concurrent $limit: no scheduled run completed in any window")
    firstPass=0; continue
  fi
  peakRatio=$(awk "BEGIN { printf \"%.1f\", 100 * $peak / $loadFloorRate }")
  figure "scheduled_load${key}_peak_runs_per_second" "$peak"; figure "scheduled_load${key}_peak_jobs" "$peakN"
  figure "scheduled_load${key}_percent_of_floor" "$peakRatio"
  row "scheduled load, peak ($peakN jobs; $what)" "$(fmt "$peak" 0) runs/s" "floor $(fmt "$loadFloorRate" 0)/s (${peakRatio} %)" "≥ 60 % of floor" \
    "$(verdict "$peakRatio >= 60")"
  load_step $(( 4 * peakN )) "$limit"
  overRate=$(json "$step" runs_per_second)
  overRatio=$(awk "BEGIN { printf \"%.1f\", 100 * $overRate / $peak }")
  figure "overload${key}_jobs" $(( 4 * peakN )); figure "overload${key}_runs_per_second" "$overRate"; figure "overload${key}_percent_of_peak" "$overRatio"
  figure "overload${key}_skipped_per_second" "$(json "$step" skipped_per_second)"; figure "overload${key}_missed_per_second" "$(json "$step" missed_per_second)"
  load_row "overload, $(( 4 * peakN )) jobs due every second, 4× the peak's ($what)"
  row "overload: completed rate at 4× the peak's jobs" "${overRatio} % of peak" "" "≥ 90 % of peak" "$(verdict "$overRatio >= 90")"
  firstPass=0
done
echo "scheduled load and overload: $(( SECONDS - loadBegan )) s"
figure scheduled_load_steps "[$(IFS=,; echo "${loadSteps[*]}" | sed 's/},{/}, {/g')]"
figure scheduled_load_slots_without_row "$(printf '%s\n' "${loadSteps[@]}" | sed -E 's/.*"slots_without_row": ([0-9]+).*/\1/' | awk '{ s += $1 } END { print s + 0 }')"

# ---------------------------------------------------------------------------------------------
# Several renkeid nodes on one private PostgreSQL 15 (issue 19; Benchmarks/cluster-bench.sh, root
# only): failover after kill -9 of the leader, scheduled throughput of 2 nodes vs 1 vs SQLite, and
# a soak of random faults checked in SQL. BENCH_CLUSTER=0 leaves it out. Its figures go under
# "cluster" in the results; kept logs of a defect under $out/cluster.
if [ "${BENCH_CLUSTER:-1}" = 1 ]; then
  clusterBegan=$SECONDS; clusterStatus=0
  rm -rf "$out/cluster"
  "$repo/Benchmarks/cluster-bench.sh" "$bin" "$out/cluster" >/dev/null || clusterStatus=$?
  if [ "$clusterStatus" = 2 ] || [ ! -s "$out/cluster/figures.json" ]; then
    row "several nodes on one PostgreSQL" "not measured (see above)" "" "" ""
    [ "$clusterStatus" = 2 ] || defects+=("several nodes on one PostgreSQL: the cluster bench ended (status $clusterStatus) before its figures")
  else
    cluster=$(cat "$out/cluster/figures.json")
    figure cluster "$cluster"
    c() { json "$cluster" "$1"; }
    ttl=$(c failover_lease_ttl_seconds)
    defaultsText=""
    [[ $cluster == *failover_default_p50_seconds* ]] && defaultsText="; renkeid's defaults (lease TTL $(c failover_default_lease_ttl_seconds) s, $(c failover_default_kills | cut -d. -f1) kills): p50 $(fmt "$(c failover_default_p50_seconds)" 1) s, max $(fmt "$(c failover_default_max_seconds)" 1) s"
    row "failover: kill -9 of the leader → next slot's step on the other node ($(c failover_kills | cut -d. -f1) kills, 2 nodes, slot every 2 s)" \
      "p50 $(fmt "$(c failover_p50_seconds)" 1) s, max $(fmt "$(c failover_max_seconds)" 1) s" "lease TTL $ttl s, renewed every 1 s$defaultsText" \
      "max ≤ TTL + renewal + one slot + 1 s" "$(verdict "$(c failover_max_seconds) <= $ttl + 1 + 2 + 1")"
    if [[ $cluster == *load_sqlite_runs_per_second* ]]; then
      loadText() { echo "$(fmt "$(c "load_$1_runs_per_second")" 1) runs/s, slot → step p50 $(fmt "$(c "load_$1_lag_p50_ms")" 0) ms, max $(fmt "$(c "load_$1_lag_max_ms")" 0) ms"; }
      row "scheduled throughput, $(c load_jobs | cut -d. -f1) jobs due every second for $(c load_seconds | cut -d. -f1) s: 2 nodes on PostgreSQL" \
        "$(loadText postgres_2_nodes)" "1 node: $(loadText postgres_1_node); 1 renkeid on SQLite: $(loadText sqlite)" "every slot one run" \
        "$( [ "$(c load_postgres_2_nodes_slots_without_run)$(c load_postgres_1_node_slots_without_run)$(c load_sqlite_slots_without_run)" = 000 ] && echo met || echo DEFECT)"
    fi
    if [[ $cluster == *soak_faults* ]]; then
      soakBad=$(awk "BEGIN { print $(c soak_duplicate_first_attempts) + $(c soak_missing_slots) + $(c soak_slots_without_run) + $(c soak_running_under_dead_node) + $(c soak_overlapping_steps) + $(c soak_audit_broken) }")
      row "soak: $(c soak_faults | cut -d. -f1) faults on 3 nodes (kill -9 $(c soak_kills | cut -d. -f1), SIGSTOP past the lease $(c soak_stops | cut -d. -f1), PostgreSQL restart $(c soak_postgres_restarts | cut -d. -f1))" \
        "duplicates $(c soak_duplicate_first_attempts | cut -d. -f1), missing slots $(c soak_missing_slots | cut -d. -f1), running under a dead node $(c soak_running_under_dead_node | cut -d. -f1)" \
        "$(c soak_slots | cut -d. -f1) slots; slots without run $(c soak_slots_without_run | cut -d. -f1), steps twice at once $(c soak_overlapping_steps | cut -d. -f1), audit broken $(c soak_audit_broken | cut -d. -f1), nodes that exited $(c soak_nodes_exited_on_their_own | cut -d. -f1)" \
        "all 0" "$( [ "$soakBad" = 0 ] && echo met || echo DEFECT)"
    fi
    while IFS= read -r line; do defects+=("several nodes on one PostgreSQL: $line"); done < "$out/cluster/defects.txt"
  fi
  echo "several nodes on one PostgreSQL: $(( SECONDS - clusterBegan )) s"
fi

# ---------------------------------------------------------------------------------------------
machine="$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr), $configuration build"
echo
echo "Renkei benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC'); $machine; journal events to $sink"
echo
printf '| %s | %s | %s | %s | %s |\n' figure Renkei "same run: floor / peer" goal verdict
printf '|---|---|---|---|---|\n'
# A cell's own "|" (iconv | wc -l) is escaped, as Markdown wants it.
for r in "${rows[@]}"; do
  IFS=$'\x1f' read -r a b c d e <<< "$r"
  printf '| %s | %s | %s | %s | %s |\n' "${a//|/\\|}" "${b//|/\\|}" "${c//|/\\|}" "${d//|/\\|}" "${e//|/\\|}"
done
{
  printf '{\n  "machine": "%s",\n  "journal": "%s",\n  "sizes": {"jobs": %s, "runs": %s, "dispatch": %s, "concurrency": %s, "idle_seconds": %s, "latency_slots": %s, "reruns": %s, "link_mib": %s, "arrivals": %s, "data_mib": %s, "load_start": %s, "load_max": %s, "load_window_seconds": %s, "load_warmup_seconds": %s, "chain": %s, "trigger_samples": %s},\n' \
    "$machine" "$sink" "$jobs" "$runs" "$dispatch" "$concurrency" "$idle" "$slots" "$reruns" "$linkMiB" "$arrivalSamples" "$dataMiB" \
    "$loadStart" "$loadMax" "$loadWindow" "$loadWarmup" "$chain" "$triggerSamples"
  printf '  %s\n}\n' "$(IFS=,; echo "${figures[*]}" | sed 's/,"/,\n  "/g')"
} > "$out/$results"
if command -v python3 >/dev/null; then python3 -m json.tool "$out/$results" >/dev/null; fi
echo
echo "figures written to $out/$results"
# Not figures: Renkei broke a promise (every slot of every job leaves a row; a chain runs each job once).
if [ "${#defects[@]}" -gt 0 ]; then
  echo >&2
  echo "DEFECTS FOUND (not a matter of speed):" >&2
  printf '  %s\n' "${defects[@]}" >&2
  exit 1
fi
