//! The examples and notes shown at the end of each command's `--help`.

/// The top level: how the exit code reads (also in the README).
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  failure at run time (storage, IO, a bug); a retry may help
  2  bad usage, spec, model or input; nothing was written; a retry will not help
  3  the run succeeded (predictions written) but drift crossed an alert threshold

The lake is --lake, else $LAKESCORE_LAKE, else ./lake. Only `registry register`
creates a lake; every other command needs one to exist.";

pub(crate) const RUN: &str = "\
Examples:
  lakescore run jobs/demo.toml --date 2024-01-01
  lakescore run jobs/demo.toml --date 2024-01-01 --dry-run
  lakescore --lake /data/lake --json run /etc/lakescore/churn.toml --date 2024-01-01
  lakescore run jobs/demo.toml --date 2024-01-01 --attempt 0f3c... --shard 2";

pub(crate) const PLAN: &str = "\
Examples:
  attempt=$(lakescore --json plan jobs/demo.toml --date 2024-01-01 --shards 4 | jq -r .attempt)
  for i in 0 1 2 3; do lakescore run jobs/demo.toml --date 2024-01-01 --attempt \"$attempt\" --shard $i & done; wait
  lakescore commit jobs/demo.toml --date 2024-01-01 --attempt \"$attempt\"";

pub(crate) const COMMIT: &str = "\
Examples:
  lakescore commit jobs/demo.toml --date 2024-01-01 --attempt 0f3c2a9e-...
  lakescore --json commit jobs/demo.toml --date 2024-01-01 --attempt \"$attempt\"";

pub(crate) const RUNS: &str = "\
Examples:
  lakescore runs
  lakescore runs churn_daily --limit 5
  lakescore runs --json | jq '.runs[] | select(.status == \"failed\") | .error'";

pub(crate) const MAINTAIN: &str = "\
Examples:
  lakescore maintain --dry-run
  lakescore maintain
  lakescore maintain runs predictions/churn_daily --retention-hours 336
  lakescore maintain --json | jq '.tables[] | {table, files_compacted, files_vacuumed}'";

pub(crate) const BACKFILL: &str = "\
Examples:
  lakescore backfill jobs/demo.toml --from 2024-01-01 --to 2024-01-31 --dry-run
  lakescore backfill jobs/demo.toml --from 2024-01-01 --to 2024-01-31 --rerun failed
  lakescore backfill jobs/demo.toml --from 2024-01-01 --to 2024-01-31 --rerun all --model-as-of-date";

pub(crate) const RERUN: &str = "\
Examples:
  lakescore rerun 9e885da5-98d9-4410-9c51-92cbdb6be805
  lakescore rerun 9e885da5";

pub(crate) const STATUS: &str = "\
Examples:
  lakescore status
  lakescore status jobs/ /etc/lakescore/extra.toml --json";

pub(crate) const SCHEDULE: &str = "\
Examples:
  lakescore schedule jobs/
  lakescore schedule jobs/ --max-running 2 --grace-seconds 300 --json
  lakescore schedule jobs/ --maintain \"0 3 * * 0\"     # also compact and vacuum on Sundays at 03:00 UTC";

pub(crate) const DRIFT: &str = "\
Examples:
  lakescore drift jobs/demo.toml --date 2024-01-02";

pub(crate) const VALIDATE: &str = "\
Examples:
  lakescore validate jobs/*.toml
  lakescore validate jobs/demo.toml --date 2024-01-01
  lakescore validate jobs/demo.toml --no-environment --json";

pub(crate) const SQL: &str = "\
Examples:
  lakescore sql \"SHOW TABLES\"
  lakescore sql \"SELECT logical_date, model_version, count(*) AS n, avg(prediction) AS mean
                 FROM churn_daily GROUP BY ALL ORDER BY 1, 2\"
  lakescore sql \"SELECT * FROM drift_metrics WHERE alert\" --format csv --out alerts.csv
  lakescore sql \"SELECT count(*) FROM runs\" --as-of 2024-03-03
  lakescore sql \"SELECT * FROM scores\" --table scores=/data/scores/*.parquet --format ndjson";

pub(crate) const REPORT: &str = "\
Examples:
  lakescore report --out report.html
  lakescore report --job churn_daily --from 2024-01-01 --to 2024-03-31 --out q1.html
  lakescore report --out report.html --date 2024-01-02   # distributions of that date
  chromium --headless --screenshot=report.png report.html";

pub(crate) const SERVE: &str = "\
Examples:
  lakescore serve --model models:/churn@champion --port 5000
  curl -s localhost:5000/invocations -H 'Content-Type: text/csv' --data-binary @rows.csv
  curl -s localhost:5000/invocations -H 'Content-Type: application/json' \\
    -d '{\"dataframe_records\": [{\"tenure_months\": 27.3, \"monthly_charges\": 75.6,
         \"support_calls\": 4, \"contract_months\": 12, \"late_payments\": 0}]}'
  LAKESCORE_SERVE_TOKEN=secret lakescore serve -m models:/churn/production --host 0.0.0.0
  lakescore sql 'SELECT model_version, count(*) FROM \"inference/churn\" GROUP BY 1'";

pub(crate) const SCHEMA: &str = "\
Examples:
  lakescore schema > schemas/job.schema.json
  lakescore schema run           # the JSON Schema of `lakescore run --json`
  lakescore schema registry-list";

pub(crate) const COMPLETIONS: &str = "\
Examples:
  lakescore completions bash > ~/.local/share/bash-completion/completions/lakescore
  lakescore completions zsh > \"${fpath[1]}/_lakescore\"
  lakescore completions fish > ~/.config/fish/completions/lakescore.fish";

pub(crate) const MAN: &str = "\
Examples:
  lakescore man --out /usr/local/share/man/man1
  lakescore man | man -l -";

pub(crate) const REGISTER: &str = "\
Examples:
  lakescore registry register churn --flavor xgboost --artifact model.json \\
      --reference train.parquet --tag team=growth --metric auc=0.91
  lakescore registry register churn --mlflow mlruns/0/5d1e0c/artifacts/model
  lakescore registry register fraud --flavor onnx --artifact model.onnx --features a,b,c";

pub(crate) const SHOW: &str = "\
Examples:
  lakescore registry show churn
  lakescore registry show churn 2
  lakescore registry show churn --as-of 2024-03-03";

pub(crate) const RESOLVE: &str = "\
Examples:
  lakescore registry resolve models:/churn/production
  lakescore registry resolve models:/churn@champion --as-of \"2024-03-03 12:00:00\"";

pub(crate) const PROMOTE: &str = "\
Examples:
  lakescore registry promote churn 2 --stage production --archive-existing --comment \"beats v1\"";

pub(crate) const REQUEST: &str = "\
Examples:
  lakescore registry request churn 2 --stage production --comment \"AUC +0.02\"";

pub(crate) const APPROVE: &str = "\
Examples:
  lakescore registry approve 1 --archive-existing --comment \"reviewed\"";

pub(crate) const REJECT: &str = "\
Examples:
  lakescore registry reject 1 --comment \"needs a fairness review\"";

pub(crate) const REQUESTS: &str = "\
Examples:
  lakescore registry requests
  lakescore registry requests churn --all";

pub(crate) const SETTINGS: &str = "\
Examples:
  lakescore registry settings churn --require-approval production
  lakescore registry settings churn --require-approval none";

pub(crate) const TAG: &str = "\
Examples:
  lakescore registry tag churn team=growth tier=gold
  lakescore registry tag churn validated=yes --version 2";

pub(crate) const UNTAG: &str = "\
Examples:
  lakescore registry untag churn tier
  lakescore registry untag churn validated --version 2";

pub(crate) const DESCRIBE: &str = "\
Examples:
  lakescore registry describe churn \"Monthly churn probability per customer\"
  lakescore registry describe churn \"retrained on 2024 data\" --version 2";

pub(crate) const OWNER: &str = "\
Examples:
  lakescore registry owner churn growth-team@example.com";

pub(crate) const COMMENT: &str = "\
Examples:
  lakescore registry comment churn \"shadowed for a week\" --version 2";

pub(crate) const ALIAS: &str = "\
Examples:
  lakescore registry alias churn 2 champion --comment \"wins the A/B test\"";

pub(crate) const ROLLBACK: &str = "\
Examples:
  lakescore registry rollback churn --stage production --comment \"v3 misbehaves\"
  lakescore registry rollback churn --alias champion";

pub(crate) const DIFF: &str = "\
Examples:
  lakescore registry diff churn 1 2";

pub(crate) const LIST: &str = "\
Examples:
  lakescore registry list
  lakescore registry list churn --as-of 2024-03-03 --json";

pub(crate) const HISTORY: &str = "\
Examples:
  lakescore registry history churn
  lakescore registry history churn --json | jq '.events[] | select(.event_type == \"stage_transition\")'";
