# Shared by the gateway benchmark scripts (sourced, not run): starting the five mock cities and a
# gateway on fixed loopback ports, with the development certificates, and stopping them; gateway
# replicas on a private PostgreSQL server; running the load generator as a Taiyuan hospital; the CPU
# time of a process; the machine line; and replacing a section of docs/BENCHMARKS.md.
# Expects ROOT (repository root) and WORK (a scratch directory) to be set.

BUILD="$ROOT/build"
CERTS="$ROOT/certs/dev"
MOCK="$BUILD/tools/mock_city/mock-city"
GATEWAY="$BUILD/gateway/server/gateway"
LOADGEN="$BUILD/bench/load-generator"
CITIES=(taiyuan yangquan jinzhong xinzhou lvliang)
# Fixed loopback ports, unless set in the environment: the mock cities CITY_BASE_PORT and up, in
# the order of CITIES, and the gateway.
CITY_BASE_PORT=${CITY_BASE_PORT:-7301}
GATEWAY_PORT=${GATEWAY_PORT:-8543}
PIDS=()                # every mock city started, for stop_all
declare -A CITY_PID=() # city name -> its mock city's process id, while it runs

wait_for_file() {  # file, seconds
  local i
  for ((i = 0; i < $2 * 20; i++)); do [[ -s "$1" ]] && return 0; sleep 0.05; done
  echo "timed out waiting for $1" >&2
  return 1
}

# launch_city NAME: starts its mock city on its fixed port and returns at once (start_city waits
# until it serves).
launch_city() {
  local name=$1 port
  port=$(city_port "$name")
  rm -f "$WORK/$name.port"
  # Lvliang's backend speaks HTTP/JSON in the national interface's envelope (adapters/lvliang/).
  "$MOCK" --city="$name" --transport="$([[ $name == lvliang ]] && echo http || echo grpc)" \
    --dialect="$ROOT/adapters/$name/dialect.textproto" --listen="127.0.0.1:$port" --ca="$CERTS/ca.pem" \
    --cert="$CERTS/city-$name.pem" --key="$CERTS/city-$name.key" --port_file="$WORK/$name.port" \
    >>"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  CITY_PID[$name]=$!
}

start_city() {
  launch_city "$1"
  wait_for_file "$WORK/$1.port" 60
}

start_cities() {
  local name
  for name in "${CITIES[@]}"; do launch_city "$name"; done
  for name in "${CITIES[@]}"; do wait_for_file "$WORK/$name.port" 60; done
}

# stop_city NAME: stops one mock city (the others keep serving); start_city NAME starts it again.
stop_city() {
  local pid=${CITY_PID[$1]:?"no mock city $1 is running"} kept=() p
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "CITY_PID[$1]"
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || kept+=("$p"); done
  PIDS=("${kept[@]}")
}

# city_port NAME: the port its mock city listens on.
city_port() {
  local i
  for i in "${!CITIES[@]}"; do [[ ${CITIES[$i]} != "$1" ]] || { echo $((CITY_BASE_PORT + i)); return; }; done
  echo "unknown city $1" >&2
  return 1
}

# write_gateway_config POLICY_FILE [CONFIG_FILE [LISTEN_PORT [STORE]]]: the gateway's configuration
# in CONFIG_FILE (default $WORK/gateway.textproto), listening on LISTEN_PORT (default GATEWAY_PORT),
# with STORE as the inside of its store { } (default: the SQLite file $WORK/gateway.db; for
# PostgreSQL see postgres_store).
# The access log's own SQLite file in $WORK, as the example configuration has it (its commits then
# do not queue on the write lock of the ledger's and the workflows' file); empty: in gateway.db.
ACCESS_LOG_FILE=${ACCESS_LOG_FILE-access-log.db}
write_gateway_config() {
  local i file=${2:-$WORK/gateway.textproto} port=${3:-$GATEWAY_PORT}
  local store=${4:-"sqlite_path: \"$WORK/gateway.db\""}
  {
    echo "listen_address: \"127.0.0.1:$port\""
    echo "tls { ca_cert_file: \"$CERTS/ca.pem\" cert_file: \"$CERTS/gateway.pem\" key_file: \"$CERTS/gateway.key\" }"
    echo "store { $store }"
    echo "access_policy_file: \"$1\""
    echo "crl_file: \"$CERTS/crl.pem\""
    echo "access_log { ${ACCESS_LOG_FILE:+sqlite_path: \"$WORK/$ACCESS_LOG_FILE\" }signing_key_file: \"$CERTS/gateway.key\" signing_cert_file: \"$CERTS/gateway.pem\" }"
    for i in "${!CITIES[@]}"; do
      echo "cities { city: CITY_${CITIES[$i]^^} address: \"127.0.0.1:$((CITY_BASE_PORT + i))\" tls_server_name: \"localhost\""
      echo "  dialect_file: \"$ROOT/adapters/${CITIES[$i]}/dialect.textproto\""
      echo "  medical_catalogue_file: \"$ROOT/adapters/${CITIES[$i]}/medical_catalogue.textproto\""
      echo "  medical_policy_file: \"$ROOT/adapters/${CITIES[$i]}/medical_policy.textproto\""
      [[ ${CITIES[$i]} != lvliang ]] || echo "  transport: TRANSPORT_HTTP_NATIONAL_INTERFACE"
      echo "  tls { ca_cert_file: \"$CERTS/ca.pem\" cert_file: \"$CERTS/gateway.pem\" key_file: \"$CERTS/gateway.key\" } }"
    done
  } >"$file"
}

GATEWAY_PID=""
start_gateway() {  # extra gateway flags...
  rm -f "$WORK/gateway.port"
  "$GATEWAY" --config="$WORK/gateway.textproto" --port_file="$WORK/gateway.port" "$@" >>"$WORK/gateway.log" 2>&1 &
  GATEWAY_PID=$!
  wait_for_file "$WORK/gateway.port" 30
}

stop_gateway() {
  if [[ -n "$GATEWAY_PID" ]]; then
    kill "$GATEWAY_PID" 2>/dev/null || true
    wait "$GATEWAY_PID" 2>/dev/null || true
    GATEWAY_PID=""
  fi
}

stop_all() {
  stop_gateway
  stop_replicas
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
  CITY_PID=()
}

# ---- Gateway replicas on PostgreSQL -----------------------------------------------------------------
# start_postgres DIR: a private PostgreSQL 15 server with its data directory in DIR (created; made
# reachable to the "postgres" user when run as root), Unix socket only, through
# tools/postgres/test-server.sh; sets PG_DIR and PG_CONNINFO (database "interop"). Stopped by
# stop_postgres (which stop_all does not do: call it in the script's exit trap).
PG_DIR=""
PG_CONNINFO=""
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
start_postgres() {
  mkdir -p "$1"
  # initdb runs as "postgres" when we are root: it must reach DIR through the scratch directory.
  if ((EUID == 0)); then chmod o+x "$WORK" "$1"; fi
  PG_DIR=$(cd "$1" && pwd)
  PG_CONNINFO=$("$ROOT/tools/postgres/test-server.sh" start "$PG_DIR" | tail -1)
}

stop_postgres() {
  if [[ -n "$PG_DIR" ]]; then
    "$ROOT/tools/postgres/test-server.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
    PG_DIR=""
  fi
}

# postmaster_pid: the process id of the running server's postmaster (the first line of its data
# directory's postmaster.pid); its children are the backends and background processes.
postmaster_pid() { head -1 "$PG_DIR/data/postmaster.pid"; }

# postgres_database NAME: creates database NAME (dropping an older one) on the server of
# start_postgres and prints its connection string.
postgres_database() {
  local owner
  owner=$(sed -n 's/.* user=\([^ ]*\).*/\1/p' <<<"$PG_CONNINFO")
  PGOPTIONS="-c client_min_messages=warning" "$PG_BIN/psql" -h "$PG_DIR" -p 5432 -U "$owner" -d postgres -qAtc \
    "DROP DATABASE IF EXISTS $1" >/dev/null
  "$PG_BIN/psql" -h "$PG_DIR" -p 5432 -U "$owner" -d postgres -qAtc "CREATE DATABASE $1" >/dev/null
  sed "s/dbname=[^ ]*/dbname=$1/" <<<"$PG_CONNINFO"
}

# postgres_store CONNINFO [POOL_SIZE]: the inside of a gateway config's store { } for PostgreSQL.
postgres_store() { echo "postgres { conninfo: \"$1\" pool_size: ${2:-16} }"; }

# launch_replica NAME CONFIG_FILE: starts a gateway process with INTEROP_GATEWAY_REPLICA_ID=NAME (its
# workflow lease holder name), logging to $WORK/NAME.log, and returns at once; wait_replica NAME
# waits until it serves (it writes $WORK/NAME.port), showing its log's end if it does not within
# 30 s. start_replica NAME CONFIG_FILE does both. Their process ids are appended to REPLICA_PIDS;
# stop_replicas (and stop_all) stop them all.
REPLICA_PIDS=()
launch_replica() {
  rm -f "$WORK/$1.port"
  INTEROP_GATEWAY_REPLICA_ID=$1 "$GATEWAY" --config="$2" --port_file="$WORK/$1.port" >>"$WORK/$1.log" 2>&1 &
  REPLICA_PIDS+=($!)
}

wait_replica() { wait_for_file "$WORK/$1.port" 30 || { tail -5 "$WORK/$1.log" >&2; return 1; }; }

start_replica() {
  launch_replica "$1" "$2"
  wait_replica "$1"
}

stop_replicas() {
  local pid
  for pid in "${REPLICA_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${REPLICA_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  REPLICA_PIDS=()
}

# cpu_ticks PID...: user + system CPU time of these processes so far (all their threads), in clock
# ticks (getconf CLK_TCK, 100 a second here). A process that is gone counts 0.
cpu_ticks() {
  local total=0 pid ticks
  for pid in "$@"; do
    ticks=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$pid/stat" 2>/dev/null) || ticks=0
    total=$((total + ${ticks:-0}))
  done
  echo "$total"
}

# run_loadgen TARGET FLAGS...: the load generator against host:port TARGET over mutual TLS as a
# Taiyuan hospital (caller-hospital-taiyuan), with the flags given (--ids_file, --call, --mode, ...).
run_loadgen() {
  local target=$1
  shift
  "$LOADGEN" --target="$target" --ca="$CERTS/ca.pem" --cert="$CERTS/caller-hospital-taiyuan.pem" \
    --key="$CERTS/caller-hospital-taiyuan.key" "$@"
}

# A policy for load tests: the reference policy without its per-organisation rate limits (one
# load generator is one organisation).
write_bench_policy() {
  grep -v '^rate_limits' "$ROOT/gateway/server/access_policy.textproto" >"$WORK/access_policy.textproto"
}

# write_doc_section HEADING: replaces the section "## HEADING" of docs/BENCHMARKS.md (up to the next
# "## " heading or the end of the file) with the markdown on stdin, which starts with that heading;
# appends it if the file has no such section. The rest of the file is kept as it is. Prints the section.
write_doc_section() {
  python3 -c '
import re, sys
heading, path = sys.argv[1], sys.argv[2]
section = sys.stdin.read().rstrip("\n")
try:
    text = open(path).read()
except FileNotFoundError:
    text = "# Benchmarks\n"
pattern = re.compile(r"^## " + re.escape(heading) + r"\n.*?(?=\n## |\Z)", re.S | re.M)
if pattern.search(text):
    text = pattern.sub(lambda _: section + "\n", text, count=1)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text if text.endswith("\n") else text + "\n")
print(section)
' "$1" "$ROOT/docs/BENCHMARKS.md"
}

# machine_line: "<CPU model>, <cores> cores, <memory> GiB; <date>; commit <short hash>" (the commit is
# marked "+ local changes" when the working tree differs from it).
machine_line() {
  local cpu cores memory commit
  cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)
  cores=$(nproc)
  memory=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
  commit=$(git -C "$ROOT" rev-parse --short HEAD)
  git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || commit+=" + local changes"
  echo "$cpu, $cores cores, $memory GiB; $(date -u +%Y-%m-%d); commit $commit"
}
