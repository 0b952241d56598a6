#!/usr/bin/env bash
# The lakescore demo: builds the binary, creates the embedded lake ./lake,
# registers the demo churn model from fixtures/, gives it the alias `champion`
# and the stage Production, then scores two days of demo customers with
# jobs/demo.toml and shows what was written. Safe to run again: the model is
# registered once, and rerunning a date replaces its predictions.
set -euo pipefail
cd "$(dirname "$0")"

cargo build --locked --quiet
bin="${CARGO_TARGET_DIR:-target}/debug/lakescore"
export LAKESCORE_LAKE="${LAKESCORE_LAKE:-./lake}"

if ! "$bin" registry list churn >/dev/null 2>&1; then
  "$bin" registry register churn --flavor xgboost \
    --artifact fixtures/demo/churn_model.json \
    --description "Churn classifier trained on synthetic customers" --tag team=growth
  "$bin" registry alias churn 1 champion --comment "demo champion"
  "$bin" registry promote churn 1 --stage production --comment "demo promotion"
fi

"$bin" validate jobs/demo.toml --date 2024-01-01
for ds in 2024-01-01 2024-01-02; do
  "$bin" run jobs/demo.toml --date "$ds"
done

echo
"$bin" registry list churn
cat <<MSG

The lake is in $LAKESCORE_LAKE. Every table is a Delta table:
  predictions  $LAKESCORE_LAKE/predictions/churn_daily   (partitioned by logical_date)
  runs         $LAKESCORE_LAKE/runs
  registry     $LAKESCORE_LAKE/registry/model_versions, $LAKESCORE_LAKE/registry/model_events

Look at the predictions with any Delta reader, for example:
  python -c "from deltalake import DeltaTable; print(DeltaTable('$LAKESCORE_LAKE/predictions/churn_daily').to_pandas().head())"
  duckdb -c "SELECT logical_date, model_version, count(*), avg(prediction) FROM delta_scan('$LAKESCORE_LAKE/predictions/churn_daily') GROUP BY ALL"
MSG
