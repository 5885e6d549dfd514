#!/usr/bin/env bash
# Starts the partner dashboard (examples/partner_dashboard.rs) with the test
# OpenID Provider (tests/idp) for a person to click through. See docs/DASHBOARD.md.
#
#   ./scripts/dashboard.sh        # then open http://127.0.0.1:3000/dashboard
#
# Users: jane / jane-password (MFA registered), john / john-password (none).
# TOWER_MFA_ADDR changes the dashboard's address. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "Node.js and npm are required (Debian: apt-get install -y nodejs npm)" >&2
  exit 1
fi
if [ ! -d tests/idp/node_modules/otpauth ] || [ ! -d tests/idp/node_modules/qrcode ]; then
  echo "==> npm ci (tests/idp)"
  (cd tests/idp && npm ci --no-audit --no-fund --loglevel=error)
fi
echo "==> cargo build --example partner_dashboard"
cargo build --quiet --example partner_dashboard

tmp=$(mktemp -d)
mkfifo "$tmp/stdin"
(cd tests/idp && exec node server.mjs <"$tmp/stdin" >"$tmp/ready") &
idp=$!
# The provider exits when its stdin closes: keep it open while this script runs.
exec 3>"$tmp/stdin"
dashboard=
cleanup() {
  exec 3>&-
  [ -n "$dashboard" ] && kill "$dashboard" 2>/dev/null
  kill "$idp" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 100); do
  [ -s "$tmp/ready" ] && break
  sleep 0.1
done
issuer=$(sed -n 's/.*"issuer":"\([^"]*\)".*/\1/p' "$tmp/ready" | head -n 1)
if [ -z "$issuer" ]; then
  echo "the test OpenID Provider did not start" >&2
  exit 1
fi
addr=${TOWER_MFA_ADDR:-127.0.0.1:3000}

cat <<MSG

  Test OpenID Provider: $issuer
  Partner dashboard:    http://$addr/dashboard

  Sign in as jane / jane-password (MFA registered; her authenticator key is
  JANE_TOTP_SECRET in tests/idp/interaction.mjs) or john / john-password
  (no MFA: he registers an authenticator app when he first opens Customers).

MSG

TOWER_MFA_ISSUER="$issuer" \
TOWER_MFA_AUDIENCE=api://tower-mfa-tests \
TOWER_MFA_CLIENT_ID=partner-dashboard \
TOWER_MFA_CLIENT_SECRET=partner-dashboard-secret \
TOWER_MFA_SCOPES="openid customers.read" \
TOWER_MFA_ADDR="$addr" \
RUST_LOG="${RUST_LOG:-warn}" \
  "${CARGO_TARGET_DIR:-target}/debug/examples/partner_dashboard" &
dashboard=$!
wait "$dashboard"
