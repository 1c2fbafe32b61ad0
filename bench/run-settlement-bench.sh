#!/usr/bin/env bash
# Settlements per second through the gateway: CrossCitySettlementService.Settle of a small
# emergency outpatient bill at a Taiyuan hospital for patients insured in the four other cities,
# with everything on: mutual TLS, certificate verification, the access policy, the durable access
# log, the durable settlement ledger (intent and settlement, group-committed, synchronous=FULL), and
# the insured city's account commit. Closed loop at several concurrencies, then an open loop at the
# 3,000/s target. Writes the table into docs/BENCHMARKS.md.
#
#   bench/run-settlement-bench.sh [SECONDS_PER_RUN]
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
WORK="$(mktemp -d /tmp/interop-bench-XXXXXX)"
SECONDS_PER_RUN=${1:-10}
# shellcheck source=bench/gateway_bench_lib.sh
source "$ROOT/bench/gateway_bench_lib.sh"
trap stop_all EXIT

"$ROOT/tools/dev" setup >/dev/null
# 4,000 patients (1,000 insured in each of the four other cities), each settled several times a run,
# as a hospital's patients are: the gateway already knows where they are insured (the warm-up below
# asks their coverage first, as a front desk does), so the figures are of settlement, not of the
# first-time search across the five cities.
for city in yangquan jinzhong xinzhou lvliang; do
  "$MOCK" --print_ids=settleable-in-city --city="$city" | shuf -n 1000 --random-source=<(yes)
done | shuf --random-source=<(yes) >"$WORK/ids.txt"
echo "$(wc -l <"$WORK/ids.txt") patients"
write_bench_policy
write_gateway_config "$WORK/access_policy.textproto"
start_cities
start_gateway
run_loadgen "127.0.0.1:$GATEWAY_PORT" --ids_file="$WORK/ids.txt" --call=gateway_medical --mode=closed \
  --concurrency=64 --connections=4 --duration_s=8 --warmup_s=0 --label="warm-up: coverage of every patient" >/dev/null

city_ticks() { cpu_ticks "${PIDS[@]}"; }

run() {  # label, load-generator flags...
  local label=$1 gateway_before cities_before
  shift
  gateway_before=$(cpu_ticks "$GATEWAY_PID")
  cities_before=$(city_ticks)
  run_loadgen "127.0.0.1:$GATEWAY_PORT" --ids_file="$WORK/ids.txt" --call=gateway_settle --connections=4 \
    --duration_s="$SECONDS_PER_RUN" --warmup_s=2 --label="$label" "$@" | tee -a "$WORK/results.jsonl"
  # CPU of the gateway and of the five mock cities over the whole run (warm-up included).
  echo "{\"label\": \"$label\", \"gateway_cpu_s\": $(( $(cpu_ticks "$GATEWAY_PID") - gateway_before ))e-2," \
    "\"cities_cpu_s\": $(( $(city_ticks) - cities_before ))e-2, \"wall_s\": $((SECONDS_PER_RUN + 2))}" \
    >>"$WORK/cpu.jsonl"
}

run "closed 16" --mode=closed --concurrency=16
run "closed 64" --mode=closed --concurrency=64
run "closed 256" --mode=closed --concurrency=256
run "PreSettle + Settle, closed 256" --mode=closed --concurrency=256 --call=gateway_presettle_settle
run "open 3000/s" --mode=open --rate=3000
ledger_rows=$(sqlite3 "$WORK/gateway.db" "SELECT COUNT(*) FROM settlements" 2>/dev/null || echo "?")
stop_all

python3 - "$WORK/results.jsonl" "$(machine_line)" "$SECONDS_PER_RUN" "$ledger_rows" "$WORK/cpu.jsonl" <<'PY' |
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
machine, secs, ledger_rows = sys.argv[2], sys.argv[3], sys.argv[4]
cpu = {c["label"]: c for c in (json.loads(l) for l in open(sys.argv[5]))}
lines = [
    "## Settlements through the gateway",
    "",
    f"Machine: {machine}. Command: `bench/run-settlement-bench.sh {secs}`.",
    "Settle of a two-line emergency outpatient bill at a Taiyuan hospital for 4,000 patients insured in",
    "the four other cities, whose coverage was asked first (so the gateway knows their insured city),",
    "a fresh idempotency key per call: mutual TLS, certificate verification, policy,",
    "durable access log (in its own SQLite file), the insured city's commit (Lüliang over HTTP/JSON),",
    "and the durable settlement ledger (intent, then settlement; group commit, synchronous=FULL). The load",
    f"generator, the gateway and the five mock cities share the machine's cores. {secs} s per run;",
    f"the ledger held {ledger_rows} settlements at the end.",
    "",
    "The account: the gateway computes the split from the insured city's account and commits it there",
    "only if the account is still at that version. It keeps the account each commit answers (and each",
    "read) for 30 s, so a patient's next settlement needs no read; a stale one costs one ABORTED round",
    "trip and a read. Here every patient is settled many times, so the rows `closed *` and `open` are",
    "mostly one call to the city per settlement. The row `PreSettle + Settle` is the front desk's flow",
    "(a quote, which always reads the account, then the settlement, which reuses that read): two calls to",
    "the gateway and two to the city per settlement, counted as one, as for a patient seen for the first time.",
    "",
    "Gateway CPU is the gateway process's user + system time over the run (its 2 s warm-up included)",
    "per 1,000 settlements answered; the mock cities' likewise.",
    "",
    "| run | settlements/s | p50 ms | p90 ms | p99 ms | p99.9 ms | errors | gateway CPU s / 1,000 | cities CPU s / 1,000 |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]
per_k = {}
for r in rows:
    c = cpu[r["label"]]
    answered = r["calls_per_s"] * (float(secs) + 2)  # the warm-up ran at about the same rate
    g = c["gateway_cpu_s"] / answered * 1000 if answered else float("nan")
    t = c["cities_cpu_s"] / answered * 1000 if answered else float("nan")
    per_k[r["label"]] = g
    lines.append(f"| {r['label']} | {r['calls_per_s']:.0f} | {r['p50_us']/1000:.2f} | {r['p90_us']/1000:.2f} | "
                 f"{r['p99_us']/1000:.2f} | {r['p999_us']/1000:.2f} | {r['errors']} | {g:.2f} | {t:.2f} |")
best = max(r['calls_per_s'] for r in rows)
closed = [r for r in rows if r["label"].startswith("closed")]
g_best = min(per_k[r["label"]] for r in closed)
lines += ["", f"Best: **{best:.0f} settlements/s** on this machine with everything on it (target at least 3,000).",
          f"The gateway alone spends {g_best:.2f} CPU-seconds per 1,000 settlements, which is about "
          f"{2000 / g_best:.0f} settlements/s for a gateway with two cores of its own.", ""]
print("\n".join(lines))
PY
  write_doc_section "Settlements through the gateway"
