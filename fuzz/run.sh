#!/usr/bin/env bash
# Build the fuzz targets, replay every regression case, then fuzz each target
# for SECONDS (default 15) from its corpus. What CI runs; installs nightly and
# cargo-fuzz when missing. New crashes land in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-15}"
export CARGO_TARGET_DIR="${LAKESCORE_FUZZ_TARGET_DIR:-/var/tmp/lakescore-fuzz-target}"
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
./seed.sh >/dev/null
targets=(spec_toml xgboost_json xgboost_ubjson lightgbm_text linear_json profile mlmodel_yaml)
cargo +nightly fuzz build -O
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "regressions/$t"
  # Every input that once crashed a target must pass now (-runs=0: run each once).
  if [ -n "$(ls -A "regressions/$t")" ]; then
    cargo +nightly fuzz run -O "$t" "regressions/$t" -- -runs=0
  fi
  cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=60
done
