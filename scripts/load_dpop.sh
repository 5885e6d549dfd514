#!/usr/bin/env bash
# DPoP next to the bearer path, whole-server throughput in one run
# (docs/PERFORMANCE.md, docs/DPOP.md).
#
#   scripts/load_dpop.sh [seconds-per-run] [rounds]
#
# Serves examples/load_target.rs pinned to core 0 and drives it with wrk
# pinned to core 1 (-t1 -c32), alternating modes each round:
#   bare        the service without the layer;
#   layer       RequireMfaLayer, one cached bearer token;
#   layer-dpop  the same layer with a `dpop_allowed` rule: one cached
#               DPoP-bound token, and a fresh ES256 proof on every request
#               (minted before the run, each used once: a proof cannot be
#               cached, so each request verifies one more signature).
# Each run mints new keys, a new token and, for layer-dpop, PROOFS proofs
# (default 60000, enough for 15,000 req/s over 4 s); a replayed proof would
# be a 401, and any non-2xx answer fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-4}
ROUNDS=${2:-3}
CONNECTIONS=${CONNECTIONS:-32}
PROOFS=${PROOFS:-60000}
DIR=target/load-dpop
PORT=18080

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi

cargo build --release --example load_target
BIN=target/release/examples/load_target
mkdir -p $DIR

cat > $DIR/dpop.lua <<LUA
local proofs = {}
for line in io.lines("$PWD/$DIR/dpop_proofs.txt") do proofs[#proofs + 1] = line end
local token = io.open("$PWD/$DIR/dpop_token.txt"):read("*l")
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/v1/customers", {["Authorization"] = "DPoP " .. token, ["DPoP"] = proofs[i]})
end
LUA

server_pid=""
stop() { if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""; fi; }
trap stop EXIT

start() { # mode
  LOAD_MODE=$1 LOAD_DIR=$DIR LOAD_ADDR=127.0.0.1:$PORT LOAD_ORIGIN=http://127.0.0.1:$PORT \
    taskset -c 0 $BIN >/dev/null 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/v1/customers" && return 0
    sleep 0.05
  done
  echo "server $1 did not start" >&2; exit 1
}

run() { # mode -> "rps p99"
  local out proofs=0
  [ "$1" = layer-dpop ] && proofs=$PROOFS
  LOAD_MODE=mint LOAD_DIR=$DIR LOAD_TOKENS=1 LOAD_PROOFS=$proofs \
    LOAD_ORIGIN=http://127.0.0.1:$PORT $BIN >/dev/null
  start "$1"
  if [ "$1" = layer-dpop ]; then
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -s $DIR/dpop.lua "http://127.0.0.1:$PORT/v1/customers")
  else
    out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${SECONDS_PER_RUN}s" --latency -H "Authorization: Bearer $(cat $DIR/token.txt)" "http://127.0.0.1:$PORT/v1/customers")
  fi
  stop
  if echo "$out" | grep -q "Non-2xx"; then echo "mode $1 answered non-2xx:" >&2; echo "$out" >&2; exit 1; fi
  local rps p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  echo "$rps $p99"
}

modes="bare layer layer-dpop"
declare -A sum
declare -A p99s
for round in $(seq "$ROUNDS"); do
  for mode in $modes; do
    read -r rps p99 < <(run "$mode")
    sum[$mode]=$(awk -v a="${sum[$mode]:-0}" -v b="$rps" 'BEGIN {print a + b}')
    p99s[$mode]="${p99s[$mode]:-} $p99"
    echo "round $round  $mode: $rps req/s, p99 $p99" >&2
  done
done

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t1 -c$CONNECTIONS -d${SECONDS_PER_RUN}s, server on core 0, wrk on core 1, $ROUNDS rounds alternating"
printf '%-12s %12s %10s %10s   %s\n' mode "req/s (mean)" "vs bare" "vs layer" "p99 per round"
for mode in $modes; do
  mean=$(awk -v a="${sum[$mode]}" -v n="$ROUNDS" 'BEGIN {print a / n}')
  ratio=$(awk -v a="${sum[$mode]}" -v b="${sum[bare]}" 'BEGIN {print a / b}')
  vs_layer=$(awk -v a="${sum[$mode]}" -v b="${sum[layer]}" 'BEGIN {print a / b}')
  printf '%-12s %12.0f %9.3fx %9.3fx  %s\n' "$mode" "$mean" "$ratio" "$vs_layer" "${p99s[$mode]}"
done
