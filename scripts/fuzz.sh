#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ for a bounded time each.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Defaults: 60 seconds, every target listed by `cargo fuzz list`.
#
# Stable Rust only: targets are built with `-s none`, i.e. WITHOUT any
# sanitizer (no ASan/MSan/UBSan; those need nightly). libFuzzer still gets
# coverage feedback, and Rust panics, failed assertions and debug-assertion
# overflows are findings. libFuzzer's warning that it cannot find the
# sanitizer hooks is expected and harmless.
#
# Seeds are read from fuzz/corpus/<target>/ (committed, kept small); new
# inputs libFuzzer finds go to fuzz/corpus-tmp/<target>/ (git-ignored), so a
# run never changes the committed corpus. Crashes land in
# fuzz/artifacts/<target>/; replay one with
#   cargo fuzz run -s none <target> fuzz/artifacts/<target>/<file>
# and, once fixed, copy it into fuzz/corpus/<target>/ so that
# tests/it/fuzz_corpus.rs replays it on every `cargo test`.
#
# Long runs stay out of CI; CI replays the corpus through tests/it/fuzz_corpus.rs.
set -euo pipefail

seconds="${1:-60}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: installing cargo-fuzz (about 20 s)" >&2
    cargo install --locked cargo-fuzz
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build -s none

status=0
for target in "${targets[@]}"; do
    mkdir -p "corpus-tmp/$target" "corpus/$target"
    echo "== $target: ${seconds}s"
    log="corpus-tmp/$target.log"
    if cargo fuzz run -s none "$target" "corpus-tmp/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^Done [0-9]+ runs' "$log" || true
    else
        status=1
        echo "!! $target failed; see fuzz/$log and fuzz/artifacts/$target/" >&2
        tail -n 30 "$log" >&2
    fi
done
exit "$status"
