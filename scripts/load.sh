#!/usr/bin/env bash
# Whole-server throughput, measured side by side in one run (docs/PERFORMANCE.md).
#
#   scripts/load.sh [seconds-per-run] [rounds]
#
# Starts the same axum service (examples/load_target.rs: the demo's
# GET /v1/customers) bare, behind a no-op middleware, and behind
# RequireMfaLayer (cached and uncached), pinned to core 0, and drives each with
# wrk pinned to core 1, alternating modes for several rounds. The peer crate
# (jwt-authorizer, its own workspace under benches/peers) runs too unless
# PEERS=0. Prints requests/s, p99 latency and the ratio to the bare service.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-10}
ROUNDS=${2:-3}
CONNECTIONS=${CONNECTIONS:-32}
TOKENS=${TOKENS:-2000}
PEERS=${PEERS:-1}
DIR=target/load
PORT=18080

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi

cargo build --release --example load_target
BIN=target/release/examples/load_target
LOAD_MODE=mint LOAD_DIR=$DIR LOAD_TOKENS=$TOKENS $BIN
TOKEN=$(cat $DIR/token.txt)

PEER_BIN=""
if [ "$PEERS" = 1 ] && [ -f benches/peers/Cargo.toml ]; then
  cargo build --release --manifest-path benches/peers/Cargo.toml
  PEER_BIN=benches/peers/target/release/jwt_authorizer_server
fi

cat > $DIR/cold.lua <<EOF
local tokens = {}
for line in io.lines("$PWD/$DIR/tokens.txt") do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/v1/customers", {["Authorization"] = "Bearer " .. tokens[i]})
end
EOF

server_pid=""
stop() { if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""; fi; }
trap stop EXIT

start() { # mode
  if [ "$1" = peer ]; then
    LOAD_DIR=$DIR LOAD_ADDR=127.0.0.1:$PORT taskset -c 0 $PEER_BIN >/dev/null 2>&1 &
  else
    LOAD_MODE=$1 LOAD_DIR=$DIR LOAD_ADDR=127.0.0.1:$PORT taskset -c 0 $BIN >/dev/null 2>&1 &
  fi
  server_pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/v1/customers" && return 0
    sleep 0.05
  done
  echo "server $1 did not start" >&2; exit 1
}

run() { # mode cold(0/1) -> "rps p99"
  local out
  start "$1"
  if [ "$2" = 1 ]; then
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s $DIR/cold.lua "http://127.0.0.1:$PORT/v1/customers")
  else
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/customers")
  fi
  local stats
  stats=$(curl -s "http://127.0.0.1:$PORT/stats" || true)
  case "$1" in layer*) echo "$1 key fetches after the run: $stats" >> $DIR/fetches.log ;; esac
  stop
  if echo "$out" | grep -q "Non-2xx"; then echo "mode $1 answered non-2xx:" >&2; echo "$out" >&2; exit 1; fi
  local rps p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  echo "$rps $p99"
}

: > $DIR/fetches.log
modes="bare noop layer"
[ -n "$PEER_BIN" ] && modes="$modes peer"
declare -A sum
declare -A p99s
for round in $(seq "$ROUNDS"); do
  for mode in $modes; do
    read -r rps p99 < <(run "$mode" 0)
    sum[$mode]=$(awk -v a="${sum[$mode]:-0}" -v b="$rps" 'BEGIN {print a + b}')
    p99s[$mode]="${p99s[$mode]:-} $p99"
    echo "round $round  $mode: $rps req/s, p99 $p99" >&2
  done
  for mode in bare-cold layer-cold; do
    case $mode in bare-cold) server=bare ;; *) server=layer-nocache ;; esac
    read -r rps p99 < <(run "$server" 1)
    sum[$mode]=$(awk -v a="${sum[$mode]:-0}" -v b="$rps" 'BEGIN {print a + b}')
    p99s[$mode]="${p99s[$mode]:-} $p99"
    echo "round $round  $mode: $rps req/s, p99 $p99" >&2
  done
done

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "wrk -t1 -c$CONNECTIONS -d${SECONDS_PER_RUN}s, server on core 0, wrk on core 1, $ROUNDS rounds alternating"
printf '%-12s %12s %10s   %s\n' mode "req/s (mean)" "vs bare" "p99 per round"
for mode in $modes bare-cold layer-cold; do
  base=bare
  case $mode in *-cold) base=bare-cold ;; esac
  mean=$(awk -v a="${sum[$mode]}" -v n="$ROUNDS" 'BEGIN {print a / n}')
  ratio=$(awk -v a="${sum[$mode]}" -v b="${sum[$base]}" 'BEGIN {print a / b}')
  printf '%-12s %12.0f %9.3fx  %s\n' "$mode" "$mean" "$ratio" "${p99s[$mode]}"
done
echo
echo "JWKS fetches per server run (the layer fetches its keys from the server it guards):"
sort $DIR/fetches.log | uniq -c
