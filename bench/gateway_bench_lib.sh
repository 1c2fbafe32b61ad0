# Shared by the gateway benchmark scripts (sourced, not run): starting the five mock cities and a
# gateway on fixed loopback ports, with the development certificates, and stopping them.
# Expects ROOT (repository root) and WORK (a scratch directory) to be set.

BUILD="$ROOT/build"
CERTS="$ROOT/certs/dev"
MOCK="$BUILD/tools/mock_city/mock-city"
GATEWAY="$BUILD/gateway/server/gateway"
LOADGEN="$BUILD/bench/load-generator"
CITIES=(taiyuan yangquan jinzhong xinzhou lvliang)
CITY_BASE_PORT=7301
GATEWAY_PORT=8543
PIDS=()

wait_for_file() {  # file, seconds
  local i
  for ((i = 0; i < $2 * 20; i++)); do [[ -s "$1" ]] && return 0; sleep 0.05; done
  echo "timed out waiting for $1" >&2
  return 1
}

start_cities() {
  local i name
  for i in "${!CITIES[@]}"; do
    name=${CITIES[$i]}
    rm -f "$WORK/$name.port"
    # Lvliang's backend speaks HTTP/JSON in the national interface's envelope (adapters/lvliang/).
    "$MOCK" --city="$name" --transport="$([[ $name == lvliang ]] && echo http || echo grpc)" \
      --dialect="$ROOT/adapters/$name/dialect.textproto" --listen="127.0.0.1:$((CITY_BASE_PORT + i))" --ca="$CERTS/ca.pem" \
      --cert="$CERTS/city-$name.pem" --key="$CERTS/city-$name.key" --port_file="$WORK/$name.port" \
      >"$WORK/$name.log" 2>&1 &
    PIDS+=($!)
  done
  for name in "${CITIES[@]}"; do wait_for_file "$WORK/$name.port" 60; done
}

# write_gateway_config POLICY_FILE
write_gateway_config() {
  local i
  {
    echo "listen_address: \"127.0.0.1:$GATEWAY_PORT\""
    echo "tls { ca_cert_file: \"$CERTS/ca.pem\" cert_file: \"$CERTS/gateway.pem\" key_file: \"$CERTS/gateway.key\" }"
    echo "store { sqlite_path: \"$WORK/gateway.db\" }"
    echo "access_policy_file: \"$1\""
    echo "crl_file: \"$CERTS/crl.pem\""
    echo "access_log { signing_key_file: \"$CERTS/gateway.key\" signing_cert_file: \"$CERTS/gateway.pem\" }"
    for i in "${!CITIES[@]}"; do
      echo "cities { city: CITY_${CITIES[$i]^^} address: \"127.0.0.1:$((CITY_BASE_PORT + i))\" tls_server_name: \"localhost\""
      echo "  dialect_file: \"$ROOT/adapters/${CITIES[$i]}/dialect.textproto\""
      echo "  medical_catalogue_file: \"$ROOT/adapters/${CITIES[$i]}/medical_catalogue.textproto\""
      echo "  medical_policy_file: \"$ROOT/adapters/${CITIES[$i]}/medical_policy.textproto\""
      [[ ${CITIES[$i]} != lvliang ]] || echo "  transport: TRANSPORT_HTTP_NATIONAL_INTERFACE"
      echo "  tls { ca_cert_file: \"$CERTS/ca.pem\" cert_file: \"$CERTS/gateway.pem\" key_file: \"$CERTS/gateway.key\" } }"
    done
  } >"$WORK/gateway.textproto"
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
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

# A policy for load tests: the reference policy without its per-organisation rate limits (one
# load generator is one organisation).
write_bench_policy() {
  grep -v '^rate_limits' "$ROOT/gateway/server/access_policy.textproto" >"$WORK/access_policy.textproto"
}

machine_line() {
  local cpu cores
  cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
  cores=$(nproc)
  echo "$cpu, $cores cores; $(date -u +%Y-%m-%d); commit $(git -C "$ROOT" rev-parse --short HEAD)"
}
