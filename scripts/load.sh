#!/usr/bin/env bash
# Whole-server throughput, measured side by side in one run (docs/PERFORMANCE.md).
#
#   scripts/load.sh [seconds-per-run] [rounds]
#
# Starts the same axum service (examples/load_target.rs: the demo's
# GET /v1/customers) pinned to core 0 and drives it with wrk pinned to core 1,
# the modes alternating within each round:
#   bare        no middleware
#   noop        a no-op middleware (tower MapRequestLayer)
#   layer       RequireMfaLayer, one cached token
#   hand        a hand-written verify-every-request middleware (benches/peers)
#   peer        jwt-authorizer 0.15 (benches/peers)
#   bare-cold   bare, 2,000 distinct tokens
#   layer-cold  RequireMfaLayer with the token cache off, distinct tokens
#   hand-cold   the hand-written middleware, distinct tokens
# then prints the median requests/s per mode, its ratio to bare (cold modes:
# to bare-cold, and layer-cold to hand-cold), and p50/p99 latencies.
# After the rounds: a key rotation under load and an issuer outage under load
# (ROTATION=0 skips them), each failing the script on any non-2xx answer.
# PEERS=0 skips the benches/peers workspace (hand, peer).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN=${1:-10}
ROUNDS=${2:-7}
CONNECTIONS=${CONNECTIONS:-32}
TOKENS=${TOKENS:-2000}
PEERS=${PEERS:-1}
ROTATION=${ROTATION:-1}
ROTATION_SECONDS=${ROTATION_SECONDS:-12}
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

PEER_DIR=""
if [ "$PEERS" = 1 ] && [ -f benches/peers/Cargo.toml ]; then
  cargo build --release --manifest-path benches/peers/Cargo.toml
  PEER_DIR=benches/peers/target/release
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

start() { # server
  case "$1" in
    peer) LOAD_DIR=$DIR LOAD_ADDR=127.0.0.1:$PORT taskset -c 0 $PEER_DIR/jwt_authorizer_server >/dev/null 2>&1 & ;;
    hand) LOAD_DIR=$DIR LOAD_ADDR=127.0.0.1:$PORT taskset -c 0 $PEER_DIR/handwritten_server >/dev/null 2>&1 & ;;
    *) LOAD_MODE=$1 LOAD_DIR=$DIR LOAD_ADDR=127.0.0.1:$PORT taskset -c 0 $BIN >/dev/null 2>&1 & ;;
  esac
  server_pid=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/v1/customers" && return 0
    sleep 0.05
  done
  echo "server $1 did not start" >&2; exit 1
}

# wrk's latency percentiles in microseconds.
to_us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print n }'; }

run() { # server cold(0/1) -> "rps p50_us p99_us"
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
  if echo "$out" | grep -q "Non-2xx"; then echo "server $1 answered non-2xx:" >&2; echo "$out" >&2; exit 1; fi
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(to_us "$(echo "$out" | awk '$1 == "50%" {print $2}')")
  p99=$(to_us "$(echo "$out" | awk '$1 == "99%" {print $2}')")
  echo "$rps $p50 $p99"
}

median() { tr ' ' '\n' | awk 'NF' | sort -g | awk '{v[NR] = $1} END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

: > $DIR/fetches.log
modes="bare noop layer"
[ -n "$PEER_DIR" ] && modes="$modes hand peer"
cold_modes="bare-cold layer-cold"
[ -n "$PEER_DIR" ] && cold_modes="$cold_modes hand-cold"
declare -A rpss p50s p99s
for round in $(seq "$ROUNDS"); do
  for mode in $modes $cold_modes; do
    case $mode in
      bare-cold) server=bare cold=1 ;;
      layer-cold) server=layer-nocache cold=1 ;;
      hand-cold) server=hand cold=1 ;;
      *) server=$mode cold=0 ;;
    esac
    read -r rps p50 p99 < <(run "$server" "$cold")
    rpss[$mode]="${rpss[$mode]:-} $rps"
    p50s[$mode]="${p50s[$mode]:-} $p50"
    p99s[$mode]="${p99s[$mode]:-} $p99"
    echo "round $round  $mode: $rps req/s, p50 ${p50} us, p99 ${p99} us" >&2
  done
done

echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t1 -c$CONNECTIONS -d${SECONDS_PER_RUN}s, server on core 0, wrk on core 1, $ROUNDS rounds alternating; $(date -u '+%Y-%m-%d %H:%M UTC')"
printf '%-11s %14s %9s %9s %10s %10s   %s\n' mode "req/s median" "vs bare" "vs hand" "p50 (us)" "p99 (us)" "req/s per round"
declare -A med
for mode in $modes $cold_modes; do med[$mode]=$(echo "${rpss[$mode]}" | median); done
for mode in $modes $cold_modes; do
  base=bare
  case $mode in *-cold) base=bare-cold ;; esac
  ratio=$(awk -v a="${med[$mode]}" -v b="${med[$base]}" 'BEGIN {printf "%.3fx", a / b}')
  vs_hand=""
  if [ "$mode" = layer-cold ] && [ -n "${med[hand-cold]:-}" ]; then
    vs_hand=$(awk -v a="${med[$mode]}" -v b="${med[hand-cold]}" 'BEGIN {printf "%.3fx", a / b}')
  fi
  printf '%-11s %14.0f %9s %9s %10.0f %10.0f  %s\n' "$mode" "${med[$mode]}" "$ratio" "$vs_hand" \
    "$(echo "${p50s[$mode]}" | median)" "$(echo "${p99s[$mode]}" | median)" "${rpss[$mode]}"
done
# The per-round ratios (each round's mode over that round's bare), whose median
# is less sensitive to drift in a shared machine's load than the ratio of medians.
echo
echo "per-round ratios to bare (median):"
for mode in noop layer; do
  read -ra a <<< "${rpss[$mode]}"; read -ra b <<< "${rpss[bare]}"
  rs=""; for i in "${!a[@]}"; do rs="$rs $(awk -v x="${a[$i]}" -v y="${b[$i]}" 'BEGIN {print x / y}')"; done
  echo "  $mode: $(echo "$rs" | median | awk '{printf "%.3fx", $1}')  (rounds:$rs)"
done
echo
echo "JWKS fetches per server run (the layer fetches its keys from the server it guards):"
sort $DIR/fetches.log | uniq -c

[ "$ROTATION" = 1 ] || exit 0

# Key rotation under load: the issuer publishes a second key at 1/4 of the
# run, the clients switch to tokens signed with it at 1/2 (the wrk script,
# by the clock), the first key is withdrawn at 3/4. Every answer must be 2xx.
publish() { cp "$DIR/$1" "$DIR/live-jwks.tmp" && mv "$DIR/live-jwks.tmp" "$DIR/live-jwks.json"; }
quarter=$(awk -v s="$ROTATION_SECONDS" 'BEGIN {print s / 4}')
cat > $DIR/rotate.lua <<EOF
local first = io.open("$PWD/$DIR/token.txt"):read("*l")
local second = io.open("$PWD/$DIR/token2.txt"):read("*l")
local start = os.time()
local switch = $ROTATION_SECONDS / 2
request = function()
  local token = first
  if os.time() - start >= switch then token = second end
  return wrk.format("GET", "/v1/customers", {["Authorization"] = "Bearer " .. token})
end
EOF
echo
echo "key rotation under load (${ROTATION_SECONDS}s): publish the second key at ${quarter}s, switch tokens at half time, withdraw the first key at 3/4"
publish jwks1.json
start layer-rotation
( sleep "$quarter"; publish jwks12.json; sleep "$quarter"; sleep "$quarter"; publish jwks2.json ) &
rotator=$!
out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${ROTATION_SECONDS}s" --latency -s $DIR/rotate.lua "http://127.0.0.1:$PORT/v1/customers")
wait "$rotator"
stats=$(curl -s "http://127.0.0.1:$PORT/stats" || true)
# The second token still passes after the run, the first no longer once its key is gone.
after=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat $DIR/token2.txt)" "http://127.0.0.1:$PORT/v1/customers")
stop
non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}'); non2xx=${non2xx:-0}
echo "  requests: $(echo "$out" | awk '/requests in/ {print $1}'), non-2xx: $non2xx, key set fetches: $stats, second token after the run: $after"
echo "$out" | awk '/Requests\/sec|^ +(50|99)%/'
if [ "$non2xx" != 0 ] || [ "$after" != 200 ]; then echo "rotation: a valid token was refused" >&2; exit 1; fi

# Issuer outage under load: the key set answers 503 from 1/3 of the run on;
# the layer refreshes every second (and fails); the cached key keeps passing.
echo
echo "issuer outage under load (${ROTATION_SECONDS}s): /jwks answers 503 from a third of the run on, the layer refreshing every second"
publish jwks1.json
start layer-outage
third=$(awk -v s="$ROTATION_SECONDS" 'BEGIN {print s / 3}')
( sleep "$third"; rm -f "$DIR/live-jwks.json" ) &
outage=$!
out=$(taskset -c 1 wrk -t1 -c"$CONNECTIONS" -d"${ROTATION_SECONDS}s" --latency -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/customers")
wait "$outage"
stats=$(curl -s "http://127.0.0.1:$PORT/stats" || true)
down=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/jwks")
stop
non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}'); non2xx=${non2xx:-0}
echo "  requests: $(echo "$out" | awk '/requests in/ {print $1}'), non-2xx: $non2xx, key set fetches (started): $stats, /jwks at the end: $down"
echo "$out" | awk '/Requests\/sec|^ +(50|99)%/'
if [ "$non2xx" != 0 ]; then echo "outage: a valid token was refused" >&2; exit 1; fi
