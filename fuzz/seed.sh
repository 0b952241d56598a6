#!/usr/bin/env bash
# Seed each target's corpus with the real fixtures (idempotent).
set -euo pipefail
cd "$(dirname "$0")"
fx=../fixtures
seed() { mkdir -p "corpus/$1"; shift_target=$1; shift; for f in "$@"; do [ -f "$f" ] && cp -n "$f" "corpus/$shift_target/" || true; done; }
seed spec_toml ../jobs/*.toml
seed xgboost_json $fx/xgboost/*.json $fx/flavors/xgboost/*.json $fx/demo/churn_model.json
seed xgboost_ubjson $fx/flavors/xgboost/*.ubj
seed lightgbm_text $fx/flavors/lightgbm/*.txt
seed linear_json $fx/linear/*.json
# MLmodel files share one name: copy each under its model's folder name.
mkdir -p corpus/mlmodel_yaml
for f in $fx/mlflow/*/MLmodel; do cp -n "$f" "corpus/mlmodel_yaml/$(basename "$(dirname "$f")")" || true; done
# A profile is two files; the target reads one input: the JSON's length, then both.
mkdir -p corpus/profile
python3 - <<'PY'
import pathlib, struct
for p in pathlib.Path("../lake/registry/profiles").glob("*/*/profile.json"):
    json, values = p.read_bytes(), (p.parent / "values.bin").read_bytes()
    pathlib.Path("corpus/profile", p.parent.name[:16]).write_bytes(struct.pack("<I", len(json)) + json + values)
PY
# The corpus fuzzing grew in earlier sessions, minimized (libFuzzer -merge=1,
# inputs up to 4 KiB), one archive per target.
for a in minimized/*.tar.gz; do [ -f "$a" ] || continue; t=$(basename "$a" .tar.gz); mkdir -p "corpus/$t"; tar -xzf "$a" -C "corpus/$t" --skip-old-files; done
ls corpus | while read -r t; do echo "$t: $(ls "corpus/$t" | wc -l) seeds"; done
