#!/bin/bash
# Renkei benchmarks (work in progress: the figures of issue 9 measured so far). Builds in release
# mode, runs each scenario on a temporary state directory, prints a table and writes JSON.
#   make bench        → .build/bench/results.json
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$repo/.build/bench
work=$(mktemp -d /tmp/renkei-bench.XXXXXX)
trap 'pkill -f "renkeid --jobs $work" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$out"
cd "$repo"
swift build -c release >/dev/null
bin=$repo/.build/release
results=()
record() { results+=("\"$1\": $2"); printf '%-58s %s\n' "$3" "$4"; }

# 1,000 job files (every job daily at a distinct minute).
mkdir -p "$work/jobs"
chmod 755 "$work" "$work/jobs"
for i in $(seq 0 999); do
  printf 'schedule: "*-*-* %02d:%02d:00"\nsteps:\n  - name: a\n    run: ["/bin/true"]\n' $((i / 60 % 24)) $((i % 60)) > "$work/jobs/job$i.yaml"
done

# A store of 1,000,000 runs over 116 days (1 % failures), written straight into SQLite, of 1,000
# other jobs (so the daemon has no catch-up to do while it is measured idle).
"$bin/renkeictl" run job1 --local --jobs "$work/jobs" --state "$work/state" >/dev/null || true
sqlite3 "$work/state/renkei.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1000000)
INSERT INTO run (job, logical_time, logical_zone, trigger, attempt, state, definition_hash, environment, parameters, queued_at, started_at, finished_at, error_class, error_message)
SELECT 'stored' || (i % 1000), strftime('%s','now') - 10050000 + i * 10, 'UTC', 'schedule', 1, CASE WHEN i % 97 = 0 THEN 'failed' ELSE 'succeeded' END, 'h', '{}', '{}',
 datetime(strftime('%s','now') - 10050000 + i*10, 'unixepoch'), datetime(strftime('%s','now') - 10050000 + i*10, 'unixepoch'),
 datetime(strftime('%s','now') - 10050000 + i*10 + 5, 'unixepoch'), CASE WHEN i % 97 = 0 THEN 'exit' END, CASE WHEN i % 97 = 0 THEN 'step a: exit status 1' END FROM n;"

# Valid JSON numbers (bc prints ".5" for 0.5).
number() { printf '%.4f' "$(echo "$1" | bc)"; }
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); number "$end - $start"; }
report7=$(seconds "$bin/renkeictl" report --state "$work/state" --format json)
record report_7_days_seconds "$report7" "report, default 7 days, 1,000,000-run store (s)" "$report7 (goal ≤ 1)"
reportAll=$(seconds "$bin/renkeictl" report --state "$work/state" --since 2020-01-01 --format json)
record report_all_seconds "$reportAll" "report over all 1,000,000 runs (s)" "$reportAll"
history=$(seconds "$bin/renkeictl" history stored7 --state "$work/state")
record history_seconds "$history" "history JOB, 1,000,000-run store (s)" "$history (goal ≤ 0.05)"

# Start-up: 1,000 job files and the 1,000,000-run store, until "renkeid ready".
start=$(date +%s.%N)
"$bin/renkeid" --jobs "$work/jobs" --state "$work/state" --log-target console > "$work/daemon.log" 2>&1 &
daemon=$!
until grep -q "renkeid ready" "$work/daemon.log"; do sleep 0.01; done
ready=$(number "$(date +%s.%N) - $start")
record startup_seconds "$ready" "start-up to READY, 1,000 jobs + 1,000,000 runs (s)" "$ready (goal ≤ 1)"

# Idle footprint: 1,000 jobs, 60 s (no slot falls due: they run at whole minutes of the day).
ticks0=$(awk '{print $14 + $15}' /proc/$daemon/stat)
sleep 60
ticks1=$(awk '{print $14 + $15}' /proc/$daemon/stat)
rss=$(awk '/VmRSS/ {print $2}' /proc/$daemon/status)
cpu=$(number "scale=4; ($ticks1 - $ticks0) * 100 / $(getconf CLK_TCK) / 60")
record idle_rss_kib "$rss" "idle RSS with 1,000 jobs (KiB)" "$rss (goal ≤ 30720)"
record idle_cpu_percent "$cpu" "idle CPU over 60 s (%)" "$cpu (goal ≤ 0.1)"
kill -TERM $daemon; wait $daemon || true

printf '{\n  %s\n}\n' "$(IFS=,; echo "${results[*]}" | sed 's/,"/,\n  "/g')" > "$out/results.json"
echo "figures written to $out/results.json"
