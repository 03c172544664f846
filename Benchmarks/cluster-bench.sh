#!/bin/bash
# Issue 19's figures: renkeid nodes on one private PostgreSQL 15 (Tests/Support/scratch-postgres.sh),
# real processes, real signals. Called by bench.sh; runs alone too:
#
#   Benchmarks/cluster-bench.sh [BIN_DIR] [WORK_DIR]     BIN_DIR defaults to .build/release
#
# 1. failover: 2 nodes, a job every 2 s (a 0.2 s step that writes its start time); the leader is
#    killed -9 at a random moment, timed from the kill to the start of the first later slot's
#    step (on the other node); the killed node is started again; CLUSTER_KILLS times with
#    --lease-ttl 3s --lease-renew 1s, then CLUSTER_DEFAULT_KILLS times with renkeid's defaults.
# 2. scheduled throughput: CLUSTER_LOAD_JOBS jobs due every second (/bin/true) for
#    CLUSTER_LOAD_SECONDS s: 2 nodes on PostgreSQL, 1 node on PostgreSQL, 1 renkeid on SQLite;
#    runs finished per second, slot → step start p50/max.
# 3. soak: 3 nodes, CLUSTER_FAULTS faults (kill -9 then start again / SIGSTOP past the lease then
#    SIGCONT / PostgreSQL fast restart), one every 2–3 s; then, in SQL: duplicate first scheduled
#    attempts, missing slots, runs running under a dead node; two copies of one slot's step at
#    once; the audit chain.
#
# BENCH_SMOKE=1: 2 kills, 5 s throughput windows, 5 faults (well under 2 minutes).
# Writes WORK_DIR/figures.json (one flat JSON object) and WORK_DIR/defects.txt (one line each);
# progress on standard error. Exits 1 when an invariant broke (logs kept in WORK_DIR), 2 when it
# could not run (not root, no PostgreSQL 15).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$repo/.build/release}
work=${2:-$(mktemp -d /tmp/renkei-cluster-bench.XXXXXX)}
if [ "${BENCH_SMOKE:-0}" = 1 ]; then
  : "${CLUSTER_KILLS:=2}" "${CLUSTER_DEFAULT_KILLS:=0}" "${CLUSTER_LOAD_SECONDS:=5}" "${CLUSTER_LOAD_JOBS:=20}" "${CLUSTER_FAULTS:=5}"
fi
kills=${CLUSTER_KILLS:-20}
defaultKills=${CLUSTER_DEFAULT_KILLS:-3}
loadJobs=${CLUSTER_LOAD_JOBS:-50}
loadSeconds=${CLUSTER_LOAD_SECONDS:-60}
faults=${CLUSTER_FAULTS:-100}
seed=${CLUSTER_SEED:-$$}
RANDOM=$seed
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
scratch=$repo/Tests/Support/scratch-postgres.sh
# The short timings of the fault tests (Tests/RenkeiPostgresTests/ClusterSupport.swift).
short=(--lease-ttl 3s --lease-renew 1s --lease-margin 1s --heartbeat 1s --dead-after 4s --self-fence-after 3s
       --fence-kill-grace 1s --retry-grace 1s)

say() { echo "cluster bench: $*" >&2; }
[ "$(id -u)" = 0 ] || { say "needs root (the scratch PostgreSQL runs as its own system user); not measured"; exit 2; }
[ -x "$PGBIN/initdb" ] || { say "no PostgreSQL 15 at $PGBIN (apt-get install -y postgresql-15); not measured"; exit 2; }
mkdir -p "$work"; chmod 755 "$work"
: > "$work/defects.txt"

declare -A pids=()
pg=""
stop_all() {
  for name in "${!pids[@]}"; do
    pid=${pids[$name]}
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  pids=()
}
trap '[ "$BASHPID" = $$ ] || exit; stop_all; [ -n "$pg" ] && "$scratch" stop "$pg"' EXIT

pg=$("$scratch" start)
url() { echo "postgresql:///$1?host=$pg&user=renkei"; }
# q DB SQL: one answer, unaligned, no header.
q() { PGOPTIONS="-c statement_timeout=10s" PGCONNECT_TIMEOUT=10 timeout 30 "$PGBIN/psql" -h "$pg" -U renkei -d "$1" -X -A -t -q -v ON_ERROR_STOP=1 -c "$2"; }
for db in failover failover_defaults load2 load1 soak; do
  q postgres "CREATE DATABASE $db" >/dev/null
  "$bin/renkeictl" store migrate --store "$(url $db)" >/dev/null
done

figures=()
figure() { figures+=("\"$1\": $2"); }
defect() { echo "$*" >> "$work/defects.txt"; say "DEFECT: $*"; }
now() { date +%s.%N; }
# eventually SECONDS COMMAND…: true once COMMAND succeeds, false after SECONDS.
eventually() {
  local end; end=$(awk "BEGIN { printf \"%.6f\", $(now) + $1 }"); shift
  until "$@"; do awk "BEGIN { exit !($(now) > $end) }" && return 1; sleep 0.2; done
}
# pct P: the P-th percentile (nearest rank) of numbers on standard input; -1 when none.
pct() { sort -g | awk -v p="$1" '{ a[NR] = $1 } END { if (NR == 0) { print -1; exit } i = int((NR * p + 99) / 100); if (i < 1) i = 1; print a[i] }'; }

# start_node SCENE DB NAME [FLAG…]: renkeid as one node of SCENE's cluster (its log appended to).
start_node() {
  local scene=$1 db=$2 name=$3; shift 3
  mkdir -p "$scene/$name"; chmod 700 "$scene/$name"
  env -u NOTIFY_SOCKET -u RENKEI_STORE "$bin/renkeid" --store "$(url "$db")" --node-name "$name" --jobs "$scene/jobs" \
    --state "$scene/$name" --socket "$scene/$name/control.sock" --log-target console --shutdown-grace 2 "$@" \
    >>"$scene/$name.log" 2>&1 </dev/null &
  pids[$name]=$!
}
kill_node() { kill -KILL "${pids[$1]}" 2>/dev/null || true; wait "${pids[$1]}" 2>/dev/null || true; }
leader() { q "$1" "SELECT n.node_name FROM lease l JOIN node n ON n.incarnation = l.holder WHERE l.role = 'scheduler' AND l.expires_at > now()"; }
alive_nodes() { q "$1" "SELECT count(DISTINCT node_name) FROM node WHERE state = 'alive' AND heartbeat_at > now() - interval '3 seconds'"; }
new_scene() { mkdir -p "$work/$1/jobs"; chmod 755 "$work/$1" "$work/$1/jobs"; echo "$work/$1"; }
# stamp_job SCENE NAME SCHEDULE SECONDS: its step appends "START_EPOCH LOGICAL_EPOCH" to SCENE/starts,
# holds an exclusive lock on its slot (a second copy at once appends DUPLICATE), sleeps SECONDS.
stamp_job() {
  local script="t=\$(date +%s.%N); exec 9>$1/slot-\$RENKEI_JOB-\$RENKEI_LOGICAL_TIME.lock; if ! flock -n 9; then echo \\\"DUPLICATE \$RENKEI_JOB \$RENKEI_LOGICAL_TIME\\\" >> $1/starts; exit 3; fi; echo \\\"\$t \$(date -d \$RENKEI_LOGICAL_TIME +%s) \$RENKEI_JOB\\\" >> $1/starts; sleep $4"
  printf 'schedule: "%s"\nsteps:\n  - name: work\n    run: ["/bin/sh", "-c", "%s"]\n' "$3" "$script" > "$1/jobs/$2.yaml"
  touch "$1/starts"; chmod 666 "$1/starts"
}
keep_logs() { rm -rf "$work/kept-$1"; cp -r "$2" "$work/kept-$1" 2>/dev/null || true; }

# ---------------------------------------------------------------------------------------------
# 1. Failover.
# first_start_after SCENE T: the earliest step start of a slot later than T (empty if none yet).
first_start_after() { awk -v t="$2" '$1 != "DUPLICATE" && $2 > t { if (m == "" || $1 < m) m = $1 } END { print m }' "$1/starts"; }
started_since() { [ -n "$(awk -v t="$2" '$1 != "DUPLICATE" && $1 > t { print; exit }' "$1/starts")" ]; }
steady() { [ "$(alive_nodes "$2")" = 2 ] && [ -n "$(leader "$2")" ] && started_since "$1" "$3"; }
has_start_after() { [ -n "$(first_start_after "$1" "$2")" ]; }
# failover SCENE DB KILLS TTL FLAG…: sets $failoverP50, $failoverMax (seconds).
failover() {
  local scene=$1 db=$2 count=$3 ttl=$4 i victim t0 first samples=() since; shift 4
  stamp_job "$scene" tick '*:*:0/2' 0.2
  start_node "$scene" "$db" a "$@"; start_node "$scene" "$db" b "$@"
  since=$(now)
  for i in $(seq 1 "$count"); do
    if ! eventually 90 steady "$scene" "$db" "$since"; then
      defect "failover ($ttl lease), kill $i: the cluster never had 2 live nodes, a leader and a step run (logs: $work/kept-failover-$ttl)"
      keep_logs "failover-$ttl" "$scene"; break
    fi
    sleep "$(awk "BEGIN { srand($seed + $i); printf \"%.2f\", rand() * 2 }")"
    victim=$(leader "$db")
    [ -n "$victim" ] || { i=$((i - 1)); continue; }
    t0=$(now); kill_node "$victim"
    if ! eventually 90 has_start_after "$scene" "$t0"; then
      defect "failover ($ttl lease), kill $i of $victim: no slot's step started within 90 s (logs: $work/kept-failover-$ttl)"
      keep_logs "failover-$ttl" "$scene"; break
    fi
    first=$(first_start_after "$scene" "$t0")
    samples+=("$(awk "BEGIN { printf \"%.3f\", $first - $t0 }")")
    say "failover ($ttl lease) $i/$count: leader $victim killed, next slot's step started ${samples[-1]} s later"
    start_node "$scene" "$db" "$victim" "$@"; since=$(now)
  done
  stop_all
  failoverP50=$(printf '%s\n' "${samples[@]}" | grep . | pct 50)
  failoverMax=$(printf '%s\n' "${samples[@]}" | grep . | pct 100)
  failoverCount=${#samples[@]}
}
scenarios=" ${CLUSTER_SCENARIOS:-failover load soak} "
if [[ $scenarios == *" failover "* ]]; then
failover "$(new_scene failover)" failover "$kills" 3s "${short[@]}"
figure failover_kills "$failoverCount"; figure failover_lease_ttl_seconds 3
figure failover_p50_seconds "$failoverP50"; figure failover_max_seconds "$failoverMax"
if [ "$defaultKills" -gt 0 ]; then
  failover "$(new_scene failover-defaults)" failover_defaults "$defaultKills" 15s
  figure failover_default_kills "$failoverCount"; figure failover_default_lease_ttl_seconds 15
  figure failover_default_p50_seconds "$failoverP50"; figure failover_default_max_seconds "$failoverMax"
fi
fi

# ---------------------------------------------------------------------------------------------
# 2. Scheduled throughput, renkeid's default timings and concurrency, the same jobs each pass.
# load_pass KEY NODES (0: one renkeid on SQLite): figures load_KEY_runs_per_second, _lag_p50_ms, _lag_max_ms.
load_pass() {
  local key=$1 nodes=$2 scene from to lags rate missing sql epoch i
  scene=$(new_scene "load-$key")
  for i in $(seq 0 $((loadJobs - 1))); do
    printf 'schedule: "*:*:*"\nsteps:\n  - name: a\n    run: ["/bin/true"]\n' > "$scene/jobs/load$i.yaml"
  done
  if [ "$nodes" = 0 ]; then
    mkdir -p "$scene/state"; chmod 700 "$scene/state"
    env -u NOTIFY_SOCKET -u RENKEI_STORE "$bin/renkeid" --jobs "$scene/jobs" --state "$scene/state" --socket "$scene/state/control.sock" \
      --log-target console >>"$scene/daemon.log" 2>&1 </dev/null &
    pids[sqlite]=$!
    sql() { sqlite3 -cmd ".timeout 5000" "$scene/state/renkei.db" "$1"; }
    epoch() { echo "((julianday($1) - 2440587.5) * 86400)"; }
  else
    for i in $(seq 1 "$nodes"); do start_node "$scene" "load$nodes" "n$i"; done
    sql() { q "load$nodes" "$1"; }
    epoch() { echo "extract(epoch FROM $1)"; }
  fi
  from=$(( $(date +%s) + 4 )); to=$((from + loadSeconds))
  sleep "$(awk "BEGIN { d = $to - $(now); printf \"%.3f\", (d > 0 ? d : 0) }")"
  # Settled: every run of the window's slots has ended (or 30 s passed).
  settled() { [ "$(sql "SELECT count(*) FROM run WHERE logical_time >= $from AND logical_time < $to AND state IN ('queued', 'running')")" = 0 ]; }
  eventually 30 settled || true
  for name in "${!pids[@]}"; do
    kill -0 "${pids[$name]}" 2>/dev/null || defect "throughput ($key): renkeid $name exited during the window (logs: $work/kept-load-$key)"
  done
  stop_all
  rate=$(sql "SELECT round(count(*) * 1.0 / $loadSeconds, 1) FROM run WHERE state = 'succeeded' AND $(epoch finished_at) >= $from AND $(epoch finished_at) < $to")
  lags=$(sql "SELECT ($(epoch s.started_at) - r.logical_time) * 1000 FROM run r JOIN step s ON s.run_id = r.id WHERE r.logical_time >= $from AND r.logical_time < $to AND s.started_at IS NOT NULL")
  missing=$(sql "SELECT $((loadJobs * loadSeconds)) - count(DISTINCT job || '@' || logical_time) FROM run WHERE logical_time >= $from AND logical_time < $to AND trigger IN ('schedule', 'catch-up') AND attempt = 1")
  figure "load_${key}_runs_per_second" "$rate"
  figure "load_${key}_lag_p50_ms" "$(printf '%s\n' "$lags" | grep . | pct 50)"; figure "load_${key}_lag_max_ms" "$(printf '%s\n' "$lags" | grep . | pct 100)"
  figure "load_${key}_slots_without_run" "$missing"
  [ "$missing" = 0 ] || { defect "throughput ($key): $missing of $((loadJobs * loadSeconds)) slots without a run (logs: $work/kept-load-$key)"; keep_logs "load-$key" "$scene"; }
  say "throughput ($key): $rate runs/s, slot → step start p50 $(printf '%s\n' "$lags" | grep . | pct 50) ms"
}
if [[ $scenarios == *" load "* ]]; then
figure load_jobs "$loadJobs"; figure load_seconds "$loadSeconds"
load_pass postgres_2_nodes 2
load_pass postgres_1_node 1
load_pass sqlite 0
fi

# ---------------------------------------------------------------------------------------------
# 3. Soak: 3 nodes, the short timings; a job every 2 s (0.3 s step) and one every second.
if [[ $scenarios == *" soak "* ]]; then
scene=$(new_scene soak)
stamp_job "$scene" tick '*:*:0/2' 0.3
stamp_job "$scene" sec '*:*:*' 0.1
for name in a b c; do start_node "$scene" soak "$name" "${short[@]}"; done
has_leader() { [ -n "$(leader "$1")" ]; }
eventually 60 has_leader soak || true
# CLUSTER_FAULT_KINDS picks among kill, stop and postgres (all three by default).
read -r -a kinds <<< "${CLUSTER_FAULT_KINDS:-kill stop postgres}"
declare -A done_kinds=([kill]=0 [stop]=0 [postgres]=0); exits=0
for i in $(seq 1 "$faults"); do
  for name in a b c; do   # a node that ended on its own starts again, as systemd's Restart= would
    kill -0 "${pids[$name]}" 2>/dev/null || { exits=$((exits + 1)); say "soak: node $name had exited; started again"; start_node "$scene" soak "$name" "${short[@]}"; }
  done
  kind=${kinds[$((RANDOM % ${#kinds[@]}))]}; names=(a b c); victim=${names[$((RANDOM % 3))]}
  case $kind in
    kill) kill_node "$victim"; sleep 1; start_node "$scene" soak "$victim" "${short[@]}" ;;
    stop) kill -STOP "${pids[$victim]}"; sleep 5; kill -CONT "${pids[$victim]}" ;;
    postgres) "$scratch" restart "$pg" || defect "soak: PostgreSQL did not restart" ;;
  esac
  done_kinds[$kind]=$((done_kinds[$kind] + 1))
  [ $((i % 10)) = 0 ] || [ "$i" = "$faults" ] && say "soak: $i/$faults faults (kill -9 ${done_kinds[kill]}, SIGSTOP ${done_kinds[stop]}, PostgreSQL restart ${done_kinds[postgres]})"
  sleep "$((2 + RANDOM % 2))"
done
for name in a b c; do kill -0 "${pids[$name]}" 2>/dev/null || { exits=$((exits + 1)); start_node "$scene" soak "$name" "${short[@]}"; }; done
# Settled: 3 live nodes and a leader, nothing running under a dead node, then two more slots swept.
stranded_sql="SELECT count(*) FROM run r JOIN node n ON n.incarnation = r.owner_node WHERE r.state = 'running' AND n.state = 'dead'"
soak_settled() { [ "$(alive_nodes soak)" = 3 ] && [ -n "$(leader soak)" ] && [ "$(q soak "$stranded_sql")" = 0 ]; }
if ! eventually 60 soak_settled; then
  defect "soak (seed $seed): 60 s after the last fault the cluster had not 3 live nodes, a leader and nothing running under a dead node (logs: $work/kept-soak)"
  unsettled=1
fi
sleep 5
duplicates=$(q soak "SELECT count(*) FROM (SELECT 1 FROM run WHERE trigger IN ('schedule', 'catch-up') AND attempt = 1 GROUP BY job, logical_time HAVING count(*) > 1) d")
missing=$(q soak "SELECT coalesce(sum((max - min) / every + 1 - n), 0) FROM (SELECT job, max(logical_time) AS max, min(logical_time) AS min, count(*) AS n,
  CASE job WHEN 'tick' THEN 2 ELSE 1 END AS every FROM slot GROUP BY job) s")
orphans=$(q soak "SELECT count(*) FROM slot s WHERE NOT EXISTS (SELECT 1 FROM run r WHERE r.job = s.job AND r.logical_time = s.logical_time AND r.trigger IN ('schedule', 'catch-up') AND r.attempt = 1)")
stranded=$(q soak "$stranded_sql")
overlaps=$(grep -c DUPLICATE "$scene/starts" || true)
audit=0; timeout 60 "$bin/renkeictl" audit --verify --store "$(url soak)" >"$scene/audit.txt" 2>&1 || audit=1
slots=$(q soak "SELECT count(*) FROM slot")
states=$(q soak "SELECT string_agg(state || ' ' || n, ', ' ORDER BY state) FROM (SELECT state, count(*) AS n FROM run GROUP BY state) s")
stop_all
figure soak_faults "$faults"; figure soak_kills "${done_kinds[kill]}"; figure soak_stops "${done_kinds[stop]}"; figure soak_postgres_restarts "${done_kinds[postgres]}"
figure soak_nodes_exited_on_their_own "$exits"; figure soak_slots "$slots"
figure soak_duplicate_first_attempts "$duplicates"; figure soak_missing_slots "$missing"; figure soak_slots_without_run "$orphans"
figure soak_running_under_dead_node "$stranded"; figure soak_overlapping_steps "$overlaps"; figure soak_audit_broken "$audit"
say "soak: $slots slots (runs: $states); duplicates $duplicates, missing $missing, slots without run $orphans, running under a dead node $stranded, overlapping steps $overlaps, audit broken $audit"
soakProblems=""
[ "$duplicates" = 0 ] || soakProblems+="$duplicates slots with two first attempts; "
[ "$missing" = 0 ] || soakProblems+="$missing missing slots; "
[ "$orphans" = 0 ] || soakProblems+="$orphans slots without their run; "
[ "$stranded" = 0 ] || soakProblems+="$stranded runs running under a dead node; "
[ "$overlaps" = 0 ] || soakProblems+="$overlaps steps ran twice at once; "
[ "$audit" = 0 ] || soakProblems+="the audit chain does not verify; "
cp "$pg/postgres.log" "$scene/" 2>/dev/null || true
if [ -n "${unsettled:-}" ]; then keep_logs soak "$scene"; fi
if [ -n "$soakProblems" ]; then defect "soak (seed $seed): ${soakProblems%; } (logs: $work/kept-soak)"; keep_logs soak "$scene"; fi
fi

# The scenes' directories go (a defect's logs were copied to kept-*).
for dir in "$work"/*/; do [[ $(basename "$dir") == kept-* ]] || rm -rf "$dir"; done
printf '{%s}\n' "$(IFS=,; echo "${figures[*]}" | sed 's/,"/, "/g')" > "$work/figures.json"
cat "$work/figures.json"
[ -s "$work/defects.txt" ] && exit 1
exit 0
