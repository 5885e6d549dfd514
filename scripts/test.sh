#!/usr/bin/env bash
# Runs every test of tower-mfa on a fresh machine: installs what the tests need
# (Node.js for the real OpenID Provider, cargo-deny), then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# Node.js + npm run the real OpenID Provider (tests/idp). Under CI they must be
# present: install them from the distribution when missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  step "installing Node.js and npm"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
  else
    echo "Node.js and npm are required: apt-get install -y nodejs npm" >&2
    exit 1
  fi
fi

step "npm ci (tests/idp)"
(cd tests/idp && npm ci --no-audit --no-fund --loglevel=error)

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, all features)"
cargo clippy --all-targets --all-features -- -D warnings

step "cargo test (all features)"
cargo test --all-features

step "cargo test (no default features: the core behaves the same without axum)"
cargo test --no-default-features

step "cargo build (default features: the demo builds with no flags)"
cargo build --all-targets

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --all-features

step "cargo doc as docs.rs builds it (all features, --cfg docsrs)"
RUSTC_BOOTSTRAP=1 RUSTDOCFLAGS='--cfg docsrs -D warnings' cargo doc --all-features --no-deps

step "cargo package (what the published crate holds, and that it builds alone)"
# Only the library's own files: no tests, test provider, node_modules,
# benches, fuzz targets, scripts or screenshots.
list=$(cargo package --list --locked --allow-dirty)
if printf '%s\n' "$list" | grep -E '^(tests|benches|fuzz|scripts|\.ci)/|node_modules|\.png$'; then
  echo "the files above do not belong in the published crate" >&2
  exit 1
fi
# A dirty working tree (local runs) is allowed; a fresh clone packages as is.
dirty=()
if [ -n "$(git status --porcelain 2>/dev/null)" ]; then dirty=(--allow-dirty); fi
cargo package --locked "${dirty[@]}"

if [ -x scripts/deny.sh ]; then
  step "cargo deny"
  scripts/deny.sh
fi

step "all tests passed"
