#!/usr/bin/env bash
# The lakescore demo: builds the binary, creates the embedded lake ./lake,
# registers the demo churn model from fixtures/ with a reference profile of its
# training data, gives it the alias `champion` and the stage Production, then
# scores two days of demo customers with jobs/demo.toml and shows what was
# written. The second day is drawn with a shift in monthly charges and support
# calls, so its drift check alerts (exit code 3, after the predictions are
# written). Last it writes the monitoring report ./report.html. Safe to run
# again: the model is registered once, and rerunning a date replaces its
# predictions.
set -euo pipefail
cd "$(dirname "$0")"

# One target directory with .ci/run (see README "Builds"), so the demo and the
# tests share one build; cargo's progress shows, as the first build is long.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/lakescore-target}"
export CARGO_INCREMENTAL=0
cargo build --locked -p lakescore
bin="$CARGO_TARGET_DIR/debug/lakescore"
export LAKESCORE_LAKE="${LAKESCORE_LAKE:-./lake}"
# The job to score (./demo-s3.sh gives the one whose input is on S3).
job="${DEMO_JOB:-jobs/demo.toml}"

if ! "$bin" registry list churn >/dev/null 2>&1; then
  "$bin" registry register churn --flavor xgboost \
    --artifact fixtures/demo/churn_model.json \
    --description "Churn classifier trained on synthetic customers" --tag team=growth \
    --reference fixtures/demo/reference.parquet
  "$bin" registry alias churn 1 champion --comment "demo champion"
  "$bin" registry promote churn 1 --stage production --comment "demo promotion"
fi

"$bin" validate "$job" --date 2024-01-01
for ds in 2024-01-01 2024-01-02; do
  status=0
  "$bin" run "$job" --date "$ds" || status=$?
  case $status in
    0) ;;
    3) echo "  (exit code 3: predictions written, drift alert raised)" ;;
    *) exit "$status" ;;
  esac
done

echo
"$bin" registry list churn
"$bin" report --out report.html
cat <<MSG

The monitoring report is ./report.html: open it in a browser (it needs no network).

The lake is in $LAKESCORE_LAKE. Every table is a Delta table:
  predictions  $LAKESCORE_LAKE/predictions/churn_daily   (partitioned by logical_date)
  runs         $LAKESCORE_LAKE/runs
  drift        $LAKESCORE_LAKE/drift_metrics              (one row per run, feature and metric)
               $LAKESCORE_LAKE/drift_histograms           (reference and current counts per bin)
  registry     $LAKESCORE_LAKE/registry/model_versions, $LAKESCORE_LAKE/registry/model_events

Query them with SQL:
  $bin sql "SELECT logical_date, model_version, count(*) AS n, avg(prediction) AS mean FROM churn_daily GROUP BY 1, 2 ORDER BY 1"
or with any Delta reader, for example:
  python -c "from deltalake import DeltaTable; print(DeltaTable('$LAKESCORE_LAKE/predictions/churn_daily').to_pandas().head())"
  duckdb -c "SELECT logical_date, model_version, count(*), avg(prediction) FROM delta_scan('$LAKESCORE_LAKE/predictions/churn_daily') GROUP BY ALL"
  duckdb -c "SELECT logical_date, feature, metric, value, p_value, alert FROM delta_scan('$LAKESCORE_LAKE/drift_metrics') WHERE alert"
and the reference profile the drift checks use:
  $bin registry show churn 1
MSG
