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

if [ -x scripts/deny.sh ]; then
  step "cargo deny"
  scripts/deny.sh
fi

step "all tests passed"
