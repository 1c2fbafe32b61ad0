#!/usr/bin/env bash
# What the durable access log costs a read through the gateway: the same call (GetInsuranceStatus,
# mutual TLS, authorization on) with the access log on, and with it switched off
# (--benchmark_without_access_log), alternating runs. Writes the table into docs/BENCHMARKS.md.
#
#   bench/run-access-log-overhead.sh [SECONDS_PER_RUN] [ROUNDS]
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
WORK="$(mktemp -d /tmp/interop-bench-XXXXXX)"
SECONDS_PER_RUN=${1:-10}
ROUNDS=${2:-3}
# shellcheck source=bench/gateway_bench_lib.sh
source "$ROOT/bench/gateway_bench_lib.sh"
trap stop_all EXIT

"$ROOT/tools/dev" setup >/dev/null
# 8,000 insured persons of the five cities, asked about once before the runs, so that every run is the
# steady state (the gateway knows where each is insured: one backend call per request), where the
# log's share of the cost is largest.
"$MOCK" --print_ids=medical | shuf -n 8000 --random-source=<(yes) >"$WORK/ids.txt"
write_bench_policy
write_gateway_config "$WORK/access_policy.textproto"
start_cities
start_gateway
run_loadgen "127.0.0.1:$GATEWAY_PORT" --ids_file="$WORK/ids.txt" --mode=closed --concurrency=64 \
  --connections=4 --duration_s=10 --warmup_s=0 --label="warm-up: every person once" >/dev/null
stop_gateway

run() {  # label, gateway flags...
  local label=$1 before after
  shift
  start_gateway "$@"
  before=$(cpu_ticks "$GATEWAY_PID")
  run_loadgen "127.0.0.1:$GATEWAY_PORT" --ids_file="$WORK/ids.txt" --mode=closed --concurrency=64 \
    --connections=4 --duration_s="$SECONDS_PER_RUN" --warmup_s=2 --label="$label" | tee -a "$WORK/results.jsonl"
  after=$(cpu_ticks "$GATEWAY_PID")
  # The gateway's CPU over the run, its 2 s warm-up included (ticks of 10 ms).
  echo "{\"label\": \"$label\", \"gateway_cpu_s\": $((after - before))e-2}" >>"$WORK/cpu.jsonl"
  stop_gateway
}

for ((r = 0; r < ROUNDS; r++)); do
  run "log on"
  run "log off" --benchmark_without_access_log
done

python3 - "$WORK/results.jsonl" "$(machine_line)" "$SECONDS_PER_RUN" "$ROUNDS" "$WORK/cpu.jsonl" <<'PY' |
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
machine, secs, rounds = sys.argv[2], sys.argv[3], sys.argv[4]
cpu = [json.loads(l) for l in open(sys.argv[5])]
for row, c in zip(rows, cpu):
    # Calls answered over the run and its 2 s warm-up, at the measured rate.
    row["gateway_cpu_us_per_call"] = c["gateway_cpu_s"] * 1e6 / max(1.0, row["calls_per_s"] * (float(secs) + 2))
def med(label, key):
    return statistics.median(r[key] for r in rows if r["label"] == label)
on, off = med("log on", "calls_per_s"), med("log off", "calls_per_s")
lines = [
    "## Gateway read with the access log on and off",
    "",
    f"Machine: {machine}. Command: `bench/run-access-log-overhead.sh {secs} {rounds}`.",
    f"GetInsuranceStatus through the gateway (mutual TLS, certificate verification, policy, field mask)",
    f"for 8,000 insured persons of the five cities, each asked about once before (the steady state),",
    f"64 calls in flight over 4 connections, {rounds} alternating runs of {secs} s each; medians.",
    f"The load generator, the gateway and the five mock cities share the machine's cores.",
    "",
    "| access log | calls/s | p50 ms | p99 ms | gateway CPU-µs per call | errors |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
]
for label in ("log on", "log off"):
    lines.append(f"| {label[4:]} | {med(label,'calls_per_s'):.0f} | {med(label,'p50_us')/1000:.2f} | "
                 f"{med(label,'p99_us')/1000:.2f} | {med(label,'gateway_cpu_us_per_call'):.0f} | "
                 f"{sum(r['errors'] for r in rows if r['label']==label)} |")
runs_on = [r["calls_per_s"] for r in rows if r["label"] == "log on"]
runs_off = [r["calls_per_s"] for r in rows if r["label"] == "log off"]
pairs = [a / b for a, b in zip(runs_on, runs_off)]
lines += [
    "",
    f"Ratio on/off: **{on/off:.3f}** (target at least 0.95): the median run with the log on over the",
    f"median run with it off. Each round's own ratio (its two runs a few seconds apart, so less of",
    f"the host's drift between them): {', '.join(f'{p:.2f}' for p in pairs)}; their median "
    f"{statistics.median(pairs):.3f}.",
    "",
]
print("\n".join(lines))
PY
  write_doc_section "Gateway read with the access log on and off"
