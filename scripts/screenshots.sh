#!/usr/bin/env bash
# Refreshes the dashboard pictures of the README: runs the browser test of the
# partner dashboard (tests/dashboard.rs, which saves a screenshot per step under
# target/screenshots/) and copies four of them to docs/img/, each under 100 KB.
#
#   ./scripts/screenshots.sh            # run the test, then copy
#   ./scripts/screenshots.sh --no-run   # copy what target/screenshots/ holds
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
shots="$target/screenshots"
max=$((100 * 1024))

if [ "${1:-}" != "--no-run" ]; then
  cargo build --quiet --example partner_dashboard
  cargo test --quiet --test dashboard
fi

mkdir -p docs/img
# step name in tests/dashboard.rs -> picture in docs/img
copy() {
  local step=$1 out=$2 src
  src=$(ls "$shots"/[0-9][0-9]-"$step".png 2>/dev/null | head -n 1 || true)
  if [ -z "$src" ]; then
    echo "no screenshot for step '$step' in $shots: run the test first" >&2
    exit 1
  fi
  cp "$src" "docs/img/$out"
  local size
  size=$(stat -c %s "docs/img/$out")
  if [ "$size" -gt "$max" ] && command -v pngquant >/dev/null 2>&1; then
    pngquant --force --skip-if-larger --quality 70-95 --output "docs/img/$out" "docs/img/$out" || true
    size=$(stat -c %s "docs/img/$out")
  fi
  if [ "$size" -gt "$max" ]; then
    echo "docs/img/$out is $size bytes, over 100 KB (apt-get install -y pngquant)" >&2
    exit 1
  fi
  printf '%-40s %6d bytes (from %s)\n' "docs/img/$out" "$size" "$src"
}

copy john-overview dashboard-overview.png
copy john-mfa-registration mfa-registration.png
copy john-customers customers-after-mfa.png
copy john-second-visit-mfa-prompt mfa-prompt.png
