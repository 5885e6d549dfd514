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
# A round mints new keys, a new token and PROOFS proofs (default 60000,
# enough for about 15,000 req/s over 4 s); a replayed proof would be a 401,
# and any non-2xx answer fails the script.
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

cat > $DIR/dpop.lua <<EOF
local proofs = {}
for line in io.lines("$PWD/$DIR/dpop_proofs.txt") do proofs[#proofs + 1] = line end
local token = io.open("$PWD/$DIR/dpop_token.txt"):read("*l")
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/v1/customers", {["Authorization"] = "DPoP " .. token, ["DPoP"] = proofs[i]})
end
