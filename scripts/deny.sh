#!/usr/bin/env bash
# Supply-chain check: advisories, licenses, bans (no OpenSSL), sources.
#
#   bash scripts/deny.sh [extra cargo-deny check arguments]
#
# Installs cargo-deny when missing (about 2 minutes). When the offline RustSec
# snapshot ../shared/advisory-db exists (next to the repository), it is
# copied to a scratch directory, made a git repository (cargo-deny wants one)
# and used with fetching disabled (`cargo deny --offline`); otherwise
# cargo-deny fetches the RustSec database as usual.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

if ! cargo deny --version >/dev/null 2>&1; then
    echo "deny.sh: installing cargo-deny (about 2 minutes)" >&2
    cargo install --locked cargo-deny
fi

# No OpenSSL in the library's graph: `cargo tree -i` must find nothing.
for crate in openssl-sys openssl native-tls; do
    if out="$(cargo tree --all-features -e normal -i "$crate" 2>&1)"; then
        echo "deny.sh: $crate is in the dependency graph:" >&2
        echo "$out" >&2
        exit 1
    fi
    case "$out" in
    *"did not match any packages"*) ;;
    *)
        echo "deny.sh: cargo tree -i $crate failed: $out" >&2
        exit 1
        ;;
    esac
done
echo "deny.sh: no openssl-sys, openssl or native-tls in the graph" >&2

snapshot="$root/../shared/advisory-db"
if [ ! -d "$snapshot" ]; then
    echo "deny.sh: no $snapshot, using the online advisory database" >&2
    exec cargo deny --all-features check --hide-inclusion-graph "$@"
fi

# `--offline` below also keeps `cargo metadata` offline, and it needs every
# package of the lock file (other platforms' too): download them first. Only
# the advisory database is meant to be offline.
cargo fetch >/dev/null 2>&1 || echo "deny.sh: cargo fetch failed; using what is cached" >&2

scratch="$(mktemp -d "${TMPDIR:-/tmp}/tower-mfa-deny.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# The same policy, with the advisory databases under the scratch directory.
config="$scratch/deny.toml"
sed -e "s|^db-path = .*|db-path = \"$scratch/dbs\"|" deny.toml >"$config"
grep -q "^db-path = \"$scratch/dbs\"" "$config" || {
    echo "deny.sh: deny.toml has no 'db-path = ...' line to redirect" >&2
    exit 1
}

# Where cargo-deny looks for the database of the configured URL: it names the
# directory after a hash of the URL, so ask it (its debug log says).
db_dir="$(cargo deny -L debug --offline --all-features --config "$config" check advisories 2>&1 |
    sed -n "s/.*Opening advisory database at '\([^']*\)'.*/\1/p" | head -n 1 || true)"
if [ -z "$db_dir" ]; then
    echo "deny.sh: could not learn where cargo-deny expects the advisory database" >&2
    exit 1
fi

mkdir -p "$(dirname "$db_dir")"
cp -R "$snapshot" "$db_dir"
chmod -R u+w "$db_dir"
(
    cd "$db_dir"
    git init -q -b main
    git add -A
    git -c user.name=deny.sh -c user.email=deny.sh@localhost -c commit.gpgsign=false \
        commit -q -m "$(head -n 1 SNAPSHOT.txt 2>/dev/null || echo 'advisory-db snapshot')"
)
echo "deny.sh: offline advisory database: $(head -c 120 "$snapshot/SNAPSHOT.txt" 2>/dev/null || echo "$snapshot")" >&2

cargo deny --offline --all-features --config "$config" check --hide-inclusion-graph "$@"
