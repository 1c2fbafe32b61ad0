#!/usr/bin/env bash
# Gateway replicas on PostgreSQL against one gateway on SQLite, in one go. The five mock cities, and
#   a. one gateway on SQLite (the embedded default);
#   b. one gateway on PostgreSQL 15 (a private server: tools/postgres/test-server.sh, data directory
#      in the scratch directory, Unix socket only, fsync on);
#   c. two gateway replicas on that PostgreSQL (one database, each replica its own port and
#      INTEROP_GATEWAY_REPLICA_ID), the load generator's connections spread round-robin over both
#      (--targets: gRPC client-side round-robin in its simplest form);
# each with two workloads at 64 calls in flight over 4 connections (closed loop), as a Taiyuan
# hospital over mutual TLS:
#   reads:  MedicalInsuranceService.GetInsuranceStatus, access log on (a durable record per call);
#   writes: CrossCitySettlementService.Settle of a small emergency outpatient bill for patients
#           insured in the four other cities (as bench/run-settlement-bench.sh), a fresh idempotency
#           key per call: access record, settlement ledger (intent and settlement), city commit.
# Every person is asked about once before the runs, so the gateway (in PostgreSQL: every replica,
# through the shared location index) knows where each is insured. Reports calls/s, p50/p90/p99, and
# the CPU time per call of the gateway processes (all replicas together), of PostgreSQL (the
# postmaster and all its children: backends, WAL writer, checkpointer, ...) and of the mock cities,
# during the measured seconds, from /proc. Writes the section "Gateway replicas on PostgreSQL" of
# docs/BENCHMARKS.md (the rest of the file stays as it is).
#
#   bench/run-replica-bench.sh [--duration=SECONDS] [--quick] [--no-build]
#
#   --duration=S  measured seconds per run (default 10), after a 2 s warm-up
#   --quick       a short validation run (2 s per run, 1 s warm-up, fewer persons); the section it
#                 writes says it is not a measurement
#   --no-build    do not build load-generator, mock-city and gateway first
#
# Ports: mock cities CITY_BASE_PORT.. (default 7311-7315), gateway (and replica 1) GATEWAY_PORT
# (default 8553), replica 2 GATEWAY_PORT + 1; each can be set in the environment, and the script
# stops if one is taken. Needs Debian's postgresql-15 (tools/dev setup installs it). Fails, showing
# the answers, if any call of a run is answered with an error. Every process it starts (mock cities,
# gateways, the PostgreSQL server) is stopped on exit, whether it succeeds, fails or is interrupted.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"

DURATION=10
WARMUP=2
QUICK=0
BUILD_FIRST=1
for arg in "$@"; do
  case $arg in
    --duration=*) DURATION=${arg#--duration=} ;;
    --quick) QUICK=1 ;;
    --no-build) BUILD_FIRST=0 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-replica-bench: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done
[[ $DURATION =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "run-replica-bench: --duration must be seconds" >&2; exit 2; }
PERSONS_PER_CITY=1000  # per workload and city, asked about in turn
if ((QUICK)); then
  DURATION=2 WARMUP=1 PERSONS_PER_CITY=200
fi
IN_FLIGHT=64
CONNECTIONS=4      # split evenly over the replicas in scenario c
POOL_SIZE=16       # PostgreSQL connections per gateway process
READ_CITIES=(taiyuan yangquan jinzhong xinzhou lvliang)
SETTLE_CITIES=(yangquan jinzhong xinzhou lvliang)  # the caller is a Taiyuan hospital

# Ports of their own, so that this script can run beside the other gateway benchmarks.
CITY_BASE_PORT=${CITY_BASE_PORT:-7311}
GATEWAY_PORT=${GATEWAY_PORT:-8553}
REPLICA_PORTS=("$GATEWAY_PORT" $((GATEWAY_PORT + 1)))

WORK="$(mktemp -d /tmp/interop-replica-bench-XXXXXX)"
# shellcheck source=bench/gateway_bench_lib.sh
source "$ROOT/bench/gateway_bench_lib.sh"

die() { echo "run-replica-bench: $*" >&2; exit 1; }

# loadgen OUTPUT_FILE TARGETS FLAGS...: run_loadgen over TARGETS (comma-separated host:port; the
# connections go round-robin over them), its JSON line into OUTPUT_FILE. In the background and
# waited for, so that an interrupt is handled at once (bash runs traps only between foreground
# commands) and the load generator is stopped with everything else. Returns its exit status.
LOADGEN_PID=""
loadgen() {
  local output=$1 targets=$2 status=0
  shift 2
  run_loadgen "${targets%%,*}" --targets="$targets" --connections="$CONNECTIONS" "$@" >"$output" &
  LOADGEN_PID=$!
  wait "$LOADGEN_PID" || status=$?
  LOADGEN_PID=""
  return "$status"
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [[ -n "$LOADGEN_PID" ]]; then
    kill "$LOADGEN_PID" 2>/dev/null || true
    wait "$LOADGEN_PID" 2>/dev/null || true
  fi
  stop_all
  stop_postgres
  if ((status != 0)); then
    echo "run-replica-bench: failed (status $status); logs in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- Preparation: binaries, certificates, ports, persons ------------------------------------------
echo "scratch directory: $WORK"
[[ -f "$BUILD/CMakeCache.txt" ]] || die "no build in $BUILD: run tools/dev setup first"
[[ -x "$PG_BIN/postgres" ]] || die "$PG_BIN/postgres not found: install postgresql-15 (tools/dev setup)"
if ((BUILD_FIRST)); then
  echo "building load-generator, mock-city, gateway"
  cmake --build "$BUILD" -j2 --target load-generator mock-city gateway >"$WORK/build.log" 2>&1 ||
    { tail -30 "$WORK/build.log" >&2; die "build failed"; }
fi
"$ROOT/certs/make-dev-certs.sh" "$CERTS" >/dev/null
for port in $(seq "$CITY_BASE_PORT" $((CITY_BASE_PORT + ${#CITIES[@]} - 1))) "${REPLICA_PORTS[@]}"; do
  ! port_taken "$port" || die "port $port is taken (another benchmark running?); set CITY_BASE_PORT, GATEWAY_PORT"
done

# A fixed sample of persons (the mock cities generate the same population every time): for the
# reads, persons insured in each of the five cities; for the settlements, persons with an active
# enrolment in each of the four other cities.
for city in "${READ_CITIES[@]}"; do
  "$MOCK" --print_ids=medical-in-city --city="$city" | shuf -n "$PERSONS_PER_CITY" --random-source=<(yes)
done | shuf --random-source=<(yes) >"$WORK/ids-read.txt"
for city in "${SETTLE_CITIES[@]}"; do
  "$MOCK" --print_ids=settleable-in-city --city="$city" | shuf -n "$PERSONS_PER_CITY" --random-source=<(yes)
done | shuf --random-source=<(yes) >"$WORK/ids-settle.txt"
cat "$WORK/ids-read.txt" "$WORK/ids-settle.txt" >"$WORK/ids-all.txt"
echo "$(wc -l <"$WORK/ids-read.txt") persons to read, $(wc -l <"$WORK/ids-settle.txt") patients to settle"

write_bench_policy
start_cities
start_postgres "$WORK/pg"
echo "PostgreSQL: $("$PG_BIN/postgres" --version), postmaster $(postmaster_pid)"
PG_VERSION_LINE=$("$PG_BIN/postgres" --version)

# ---- Measuring ------------------------------------------------------------------------------------
# measure SCENARIO WORKLOAD TARGETS GATEWAY_PIDS DATABASE_PIDS FLAGS...: one load-generator run
# against TARGETS (comma-separated host:port), measuring the CPU time of GATEWAY_PIDS, of the
# PostgreSQL tree under DATABASE_PIDS (may be empty) and of the mock cities; its JSON line, with the
# scenario and the workload added, goes to results.jsonl. Stops the script, showing the codes and
# the first messages, if an answer was not OK.
measure() {
  local scenario=$1 workload=$2 targets=$3 pids=$4 database=$5 line cities
  shift 5
  cities=$(IFS=,; echo "${PIDS[*]}")
  # The load generator exits non-zero when no call succeeded; its line still says why.
  loadgen "$WORK/run.json" "$targets" --cpu_pids="$pids" --backend_cpu_pids="$cities" \
    --database_cpu_pids="$database" --label="$scenario" "$@" || true
  line=$(cat "$WORK/run.json")
  [[ $line == "{"* ]] || die "$scenario, $workload: the load generator failed: $line"
  python3 - "$line" "$scenario" "$workload" "$WORK/results.jsonl" "$database" <<'PY' ||
import json, sys
row = json.loads(sys.argv[1])
row["scenario"], row["workload"] = sys.argv[2], sys.argv[3]
database = f"{row['database_cpu_us_per_call']:6.1f}" if sys.argv[5] else "     –"
print(f"  {row['scenario']:<28} {row['workload']:<6} {row['concurrency']:>3} in flight: {row['calls_per_s']:>6.0f} calls/s"
      f"  p50 {row['p50_us'] / 1e3:6.2f}  p99 {row['p99_us'] / 1e3:6.2f} ms  CPU-us/call: gateway"
      f" {row['server_cpu_us_per_call']:6.1f}, PostgreSQL {database},"
      f" cities {row['backend_cpu_us_per_call']:6.1f}  errors {row['errors']}", file=sys.stderr)
with open(sys.argv[4], "a") as out:
    out.write(json.dumps(row) + "\n")
for code, n in sorted(row["errors_by_code"].items()):
    print(f"    {n} answers with gRPC code {code}, the first: {row['first_error_by_code'].get(code, '')}",
          file=sys.stderr)
sys.exit(1 if row["errors"] or row["ok"] == 0 else 0)
PY
    die "$scenario, $workload: calls failed (above)"
}

# scenario NAME TARGETS GATEWAY_PIDS DATABASE_PIDS: every person once (not measured), then the two
# workloads. On a busy machine a gateway's first connection to a mock city can fail and open that
# city's circuit breaker (5 s); the warm-up is then repeated after the breaker's open period, up
# to three times, and the runs start only after a warm-up without errors.
scenario() {
  local name=$1 targets=$2 pids=$3 database=$4 attempt errors
  for attempt in 1 2 3; do
    loadgen "$WORK/warm-up.json" "$targets" --ids_file="$WORK/ids-all.txt" --call=gateway_medical --mode=closed \
      --concurrency="$IN_FLIGHT" --warmup_s=0 --duration_s=600 --max_calls="$(wc -l <"$WORK/ids-all.txt")" \
      --label="$name: warm-up" || true
    errors=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["errors"])' "$WORK/warm-up.json" \
      2>/dev/null) || die "$name: the warm-up failed: $(cat "$WORK/warm-up.json")"
    ((errors > 0)) || break
    ((attempt < 3)) || die "$name: the warm-up kept failing: $(cat "$WORK/warm-up.json")"
    echo "  $name: $errors answers of the warm-up not OK (a city not reached yet?); again in 6 s"
    sleep 6
  done
  measure "$name" reads "$targets" "$pids" "$database" --call=gateway_medical --ids_file="$WORK/ids-read.txt" \
    --mode=closed --concurrency="$IN_FLIGHT" --duration_s="$DURATION" --warmup_s="$WARMUP"
  measure "$name" settle "$targets" "$pids" "$database" --call=gateway_settle --ids_file="$WORK/ids-settle.txt" \
    --mode=closed --concurrency="$IN_FLIGHT" --duration_s="$DURATION" --warmup_s="$WARMUP"
}
joined() { local IFS=,; echo "$*"; }

echo "runs of ${DURATION} s after ${WARMUP} s of warm-up, $IN_FLIGHT in flight over $CONNECTIONS connections:"

# ---- a. one gateway on SQLite ---------------------------------------------------------------------
write_gateway_config "$WORK/access_policy.textproto" "$WORK/sqlite.textproto" "${REPLICA_PORTS[0]}"
start_replica sqlite "$WORK/sqlite.textproto"
scenario "a. one gateway, SQLite" "127.0.0.1:${REPLICA_PORTS[0]}" "${REPLICA_PIDS[0]}" ""
stop_replicas

# ---- b. one gateway on PostgreSQL -----------------------------------------------------------------
conninfo=$(postgres_database bench_one)
write_gateway_config "$WORK/access_policy.textproto" "$WORK/pg-one.textproto" "${REPLICA_PORTS[0]}" \
  "$(postgres_store "$conninfo" "$POOL_SIZE")"
start_replica pg-one "$WORK/pg-one.textproto"
scenario "b. one gateway, PostgreSQL" "127.0.0.1:${REPLICA_PORTS[0]}" "${REPLICA_PIDS[0]}" "$(postmaster_pid)"
stop_replicas

# ---- c. two replicas on one PostgreSQL ------------------------------------------------------------
conninfo=$(postgres_database bench_two)
targets=()
for i in 0 1; do
  write_gateway_config "$WORK/access_policy.textproto" "$WORK/replica-$((i + 1)).textproto" "${REPLICA_PORTS[$i]}" \
    "$(postgres_store "$conninfo" "$POOL_SIZE")"
  targets+=("127.0.0.1:${REPLICA_PORTS[$i]}")
done
# Together, as replicas of one deployment start: their schema migrations take turns.
launch_replica replica-1 "$WORK/replica-1.textproto"
launch_replica replica-2 "$WORK/replica-2.textproto"
wait_replica replica-1 || die "replica-1 did not start"
wait_replica replica-2 || die "replica-2 did not start"
scenario "c. two replicas, PostgreSQL" "$(joined "${targets[@]}")" "$(joined "${REPLICA_PIDS[@]}")" "$(postmaster_pid)"
settled=$("$PG_BIN/psql" "$conninfo" -qAtc "SELECT COUNT(*) FROM settlements" 2>/dev/null || echo "?")
stop_replicas
stop_all
stop_postgres

# ---- The section of docs/BENCHMARKS.md -----------------------------------------------------------
command_line="bench/run-replica-bench.sh$( ((QUICK)) && echo " --quick" || echo " --duration=$DURATION")"
python3 - "$WORK/results.jsonl" "$(machine_line)" "$command_line" "$QUICK" "$DURATION" "$WARMUP" \
  "$PG_VERSION_LINE" "$PERSONS_PER_CITY" "$POOL_SIZE" "$IN_FLIGHT" "$CONNECTIONS" "$settled" <<'PY' |
import json, sys
(results, machine, command, quick, duration, warmup, pg_version, persons, pool, in_flight, connections,
 settled) = sys.argv[1:]
rows = [json.loads(l) for l in open(results)]
quick = quick == "1"

def row(prefix, workload):
    for r in rows:
        if r["scenario"].startswith(prefix) and r["workload"] == workload:
            return r
    raise SystemExit(f"no result for {prefix} {workload}")

ms = lambda us: f"{us / 1000:.2f}"
lines = ["## Gateway replicas on PostgreSQL", ""]
if quick:
    lines += ["**Validation run (`--quick`, 2 s per run, other jobs on the machine): these figures show that the",
              "script works, they are not a measurement.**", ""]
lines += [
    f"Machine: {machine}. Command: `{command}`. Server: {pg_version}.",
    f"Closed loop, {in_flight} calls in flight over {connections} connections, as a Taiyuan hospital over mutual",
    f"TLS; {duration} s measured after {warmup} s of warm-up per run. The load generator, the gateway",
    "process(es), PostgreSQL and the five mock cities share the machine's cores, so the rows compare",
    "the stores; they are not the capacity of a deployment with machines of its own.",
    "",
    "- **a.** one gateway on SQLite (the embedded default; `synchronous=FULL`).",
    f"- **b.** one gateway on PostgreSQL: a private server (`tools/postgres/test-server.sh`: fsync and",
    f"  `synchronous_commit` on, Unix socket, `shared_buffers` 128 MB), a database of its own, `pool_size: {pool}`.",
    "- **c.** two replicas on one PostgreSQL database (each its own port and `INTEROP_GATEWAY_REPLICA_ID`,",
    f"  `pool_size: {pool}` each); the load generator's connections go round-robin to the two",
    "  (`--targets`), and its calls round-robin over the connections: half the calls to each replica.",
    "",
    f"Workloads: **reads**, `GetInsuranceStatus` (purpose TREATMENT) for {persons} persons insured in each of",
    "the five cities, access log on (a durable, hash-chained record per call; on PostgreSQL one chain",
    f"under a head-row lock shared by the replicas); **settle**, `Settle` of a two-line emergency",
    f"outpatient bill for {persons} patients insured in each of the four other cities, a fresh",
    "idempotency key per call (access record, ledger intent and settlement, the insured city's commit);",
    f"the ledger of scenario c held {settled} settlements at the end. Every person was asked about once",
    "before the runs, so the gateway knows where each is insured (on PostgreSQL the location index is",
    "shared: what one replica learned, the other finds).",
    "",
    "CPU is user + system time during the measured seconds, from `/proc/<pid>/stat`, per call answered:",
    "the gateway process(es), both replicas together in c; PostgreSQL, the postmaster and all its",
    "children (backends, WAL writer, checkpointer, ...; children that ended counted through the",
    "postmaster's cutime), found from the data directory's `postmaster.pid`; the five mock cities.",
    "",
    "| scenario | workload | calls/s | p50 ms | p90 ms | p99 ms | gateway CPU-µs per call | "
    "PostgreSQL CPU-µs per call | gateway + PostgreSQL | mock cities' CPU-µs per call |",
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]
for r in rows:
    pg = r["database_cpu_us_per_call"] if r["scenario"].startswith(("b.", "c.")) else None
    lines.append(f"| {r['scenario']} | {r['workload']} | {r['calls_per_s']:.0f} | {ms(r['p50_us'])} | "
                 f"{ms(r['p90_us'])} | {ms(r['p99_us'])} | {r['server_cpu_us_per_call']:.1f} | "
                 + (f"{pg:.1f} | " if pg is not None else "– (in process) | ")
                 + f"{r['server_cpu_us_per_call'] + (pg or 0):.1f} | {r['backend_cpu_us_per_call']:.1f} |")
lines.append("")
for workload in ("reads", "settle"):
    a, b, c = (row(p, workload) for p in ("a.", "b.", "c."))
    lines.append(f"- {workload}: two replicas on PostgreSQL {c['calls_per_s'] / a['calls_per_s']:.2f}x the calls/s"
                 f" of one gateway on SQLite, one gateway on PostgreSQL {b['calls_per_s'] / a['calls_per_s']:.2f}x.")
lines.append("")
print("\n".join(lines))
PY
  write_doc_section "Gateway replicas on PostgreSQL"
