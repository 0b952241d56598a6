"""Read lakescore's tables with two readers that share no code with it.

The Python `deltalake` package (delta-rs' Python binding) and DuckDB's Delta
extension (built on delta-kernel-rs) read every table of a lake that the real
binary wrote: predictions, runs, drift_metrics and both registry tables. The
rows and types must be the ones lakescore meant: predictions equal XGBoost's
own (fixtures/demo/expected.parquet) within 1e-6, drift values equal
scipy/numpy's (fixtures/demo/drift_expected.json), lineage, statuses and
registry events as written.

    python .ci/independent_readers.py PATH/TO/lakescore

Exits non-zero, naming the table and the check, on the first mismatch.
"""

import json
import math
import sys
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable

from demo_lake import DATES, REPO, build_lake, lakescore



def check(ok, what):
    if not ok:
        sys.exit(f"independent readers: {what}")


def types(table):
    return {f.name: f.type for f in table.schema}


def check_predictions(lake, con):
    t = DeltaTable(str(lake / "predictions/churn_daily")).to_pyarrow_table()
    ty = types(t)
    check(t.num_rows == 10_000, f"predictions: {t.num_rows} rows, expected 10000")
    check(ty["prediction"] == pa.float64(), f"predictions.prediction is {ty['prediction']}")
    check(ty["logical_date"] == pa.date32(), f"predictions.logical_date is {ty['logical_date']}")
    check(pa.types.is_timestamp(ty["scored_at"]) and ty["scored_at"].tz == "UTC",
          f"predictions.scored_at is {ty['scored_at']}")
    check(ty["model_version"] == pa.int64(), f"predictions.model_version is {ty['model_version']}")
    rows = t.to_pylist()
    check({r["model_name"] for r in rows} == {"churn"}, "predictions: model_name lineage")
    check({r["model_version"] for r in rows} == {1}, "predictions: model_version lineage")
    check({r["job_name"] for r in rows} == {"churn_daily"}, "predictions: job_name lineage")
    expected = pq.read_table(REPO / "fixtures/demo/expected.parquet").to_pylist()
    want = {(e["customer_id"], e["logical_date"]): e["expected"] for e in expected}
    got = {(r["customer_id"], r["logical_date"].isoformat()): r["prediction"] for r in rows}
    check(set(got) == set(want), "predictions: the (customer_id, date) keys differ from XGBoost's")
    worst = max(abs(got[k] - want[k]) for k in want)
    check(worst <= 1e-6, f"predictions differ from XGBoost's by {worst}")
    n = con.execute(
        f"SELECT count(*), count(DISTINCT logical_date) FROM delta_scan('{lake}/predictions/churn_daily')"
    ).fetchone()
    check(n == (10_000, 2), f"duckdb predictions: {n}")
    mean = con.execute(
        f"SELECT avg(prediction) FROM delta_scan('{lake}/predictions/churn_daily')").fetchone()[0]
    check(abs(mean - sum(got.values()) / len(got)) < 1e-9, "duckdb mean prediction differs")


def check_runs(lake, con):
    t = DeltaTable(str(lake / "runs")).to_pyarrow_table()
    ty = types(t)
    rows = t.to_pylist()
    check(len(rows) == 2, f"runs: {len(rows)} rows, expected 2")
    check(ty["logical_date"] == pa.date32(), f"runs.logical_date is {ty['logical_date']}")
    check(pa.types.is_timestamp(ty["started_at"]), f"runs.started_at is {ty['started_at']}")
    check({r["status"] for r in rows} == {"succeeded"}, f"runs: statuses {[r['status'] for r in rows]}")
    check({r["trigger"] for r in rows} == {"manual"}, "runs: triggers")
    check(sorted(r["logical_date"].isoformat() for r in rows) == DATES, "runs: dates")
    check(all(r["rows_out"] == 5000 and r["model_version"] == 1 for r in rows), "runs: counts")
    alerts = {r["logical_date"].isoformat(): r["drift_alerts"] for r in rows}
    check(alerts["2024-01-01"] == 0 and alerts["2024-01-02"] > 0, f"runs: drift alerts {alerts}")
    n = con.execute(f"SELECT count(*) FROM delta_scan('{lake}/runs') WHERE status = 'succeeded'").fetchone()
    check(n == (2,), f"duckdb runs: {n}")


def check_drift(lake, con):
    t = DeltaTable(str(lake / "drift_metrics")).to_pyarrow_table()
    ty = types(t)
    check(ty["alert"] == pa.bool_(), f"drift_metrics.alert is {ty['alert']}")
    check(ty["value"] == pa.float64(), f"drift_metrics.value is {ty['value']}")
    rows = t.to_pylist()
    check({r["metric"] for r in rows} <= {"psi", "ks", "wasserstein", "wasserstein_norm", "chi2", "js", "null_rate"},
          "drift_metrics: unknown metric names")
    expected = json.loads((REPO / "fixtures/demo/drift_expected.json").read_text())
    compared = 0
    for r in rows:
        day = expected[r["logical_date"].isoformat()].get(r["feature"])
        if day is None or r["metric"] not in ("psi", "ks") or r["value"] is None:
            continue
        want = day[r["metric"]]
        check(math.isclose(r["value"], want, rel_tol=1e-9, abs_tol=1e-12),
              f"drift_metrics {r['feature']} {r['metric']}: {r['value']} vs scipy/numpy {want}")
        if r["metric"] == "ks":
            check(math.isclose(r["p_value"], day["ks_pvalue"], rel_tol=1e-6, abs_tol=1e-12),
                  f"drift_metrics {r['feature']} ks p-value: {r['p_value']} vs {day['ks_pvalue']}")
        compared += 1
    check(compared >= 10, f"drift_metrics: only {compared} values compared with scipy/numpy")
    n = con.execute(
        f"SELECT count(*) FROM delta_scan('{lake}/drift_metrics') WHERE alert AND logical_date = '2024-01-02'"
    ).fetchone()[0]
    check(n > 0, "duckdb drift_metrics: no alert on the drifted day")
    # drift_histograms: per run and feature, the bins' counts sum to the
    # metrics' sample sizes (read by both readers).
    h = DeltaTable(str(lake / "drift_histograms")).to_pyarrow_table().to_pylist()
    check(h, "drift_histograms: no rows")
    sums = {}
    for r in h:
        key = (r["run_id"], r["feature"])
        ref, cur = sums.get(key, (0, 0))
        sums[key] = (ref + r["reference_count"], cur + r["current_count"])
    for r in rows:
        if r["metric"] == "psi":
            check(sums.get((r["run_id"], r["feature"])) == (r["n_reference"], r["n_current"]),
                  f"drift_histograms {r['feature']}: {sums.get((r['run_id'], r['feature']))} "
                  f"vs drift_metrics ({r['n_reference']}, {r['n_current']})")
    bins = con.execute(f"SELECT count(*) FROM delta_scan('{lake}/drift_histograms')").fetchone()[0]
    check(bins == len(h), f"duckdb drift_histograms: {bins} rows, deltalake {len(h)}")


def check_registry(lake, con):
    versions = DeltaTable(str(lake / "registry/model_versions")).to_pyarrow_table()
    ty = types(versions)
    check(pa.types.is_timestamp(ty["created_at"]), f"model_versions.created_at is {ty['created_at']}")
    check(pa.types.is_list(ty["features"]), f"model_versions.features is {ty['features']}")
    rows = versions.to_pylist()
    check(len(rows) == 1 and rows[0]["version"] == 1 and rows[0]["flavor"] == "xgboost",
          f"model_versions: {rows}")
    check(json.loads(rows[0]["tags"]) == {"team": "growth"}, "model_versions: tags")
    events = DeltaTable(str(lake / "registry/model_events")).to_pyarrow_table().to_pylist()
    kinds = [e["event_type"] for e in sorted(events, key=lambda e: e["seq"])]
    check(kinds == ["registered", "alias_set", "stage_transition"], f"model_events: {kinds}")
    check([e["seq"] for e in sorted(events, key=lambda e: e["seq"])] == [1, 2, 3], "model_events: seq gaps")
    promoted = [e for e in events if e["event_type"] == "stage_transition"][0]
    check(promoted["to_stage"] == "Production" and promoted["comment"] == "demo promotion", f"model_events: {promoted}")
    n = con.execute(
        f"SELECT count(*) FROM delta_scan('{lake}/registry/model_events') WHERE actor = 'ci'").fetchone()
    check(n == (3,), f"duckdb model_events: {n}")


# The README's ready-made queries: (lakescore's SQL, DuckDB's over delta_scan).
# Both must give the same rows (numbers within 1e-9).
README_QUERIES = [
    ("SELECT logical_date, model_version, count(*) AS n, avg(prediction) AS mean_score "
     "FROM churn_daily GROUP BY logical_date, model_version ORDER BY logical_date, model_version",
     "SELECT strftime(logical_date, '%Y-%m-%d'), model_version, count(*), avg(prediction) "
     "FROM delta_scan('{lake}/predictions/churn_daily') GROUP BY ALL ORDER BY 1, 2"),
    ("SELECT logical_date, feature, metric, value, p_value FROM drift_metrics "
     "CROSS JOIN clock WHERE alert AND computed_at >= clock.now - INTERVAL '7 days' ORDER BY feature",
     "SELECT strftime(logical_date, '%Y-%m-%d'), feature, metric, value, p_value "
     "FROM delta_scan('{lake}/drift_metrics') WHERE alert AND computed_at >= now() - INTERVAL 7 DAY "
     "ORDER BY feature"),
    ("SELECT customer_id, model_name, model_version, run_id FROM churn_daily "
     "WHERE customer_id = 'C005042' AND logical_date = '2024-01-02'",
     "SELECT customer_id, model_name, model_version, run_id FROM delta_scan('{lake}/predictions/churn_daily') "
     "WHERE customer_id = 'C005042' AND logical_date = '2024-01-02'"),
    ("SELECT job_name, logical_date, error FROM runs "
     "CROSS JOIN clock WHERE status = 'failed' AND started_at >= clock.now - INTERVAL '7 days' ORDER BY job_name",
     "SELECT job_name, strftime(logical_date, '%Y-%m-%d'), error FROM delta_scan('{lake}/runs') "
     "WHERE status = 'failed' AND started_at >= now() - INTERVAL 7 DAY ORDER BY job_name"),
    ("SELECT actor, model_name, version, from_stage, to_stage, comment "
     "FROM model_events WHERE event_type = 'stage_transition' ORDER BY seq",
     "SELECT actor, model_name, version, from_stage, to_stage, comment "
     "FROM delta_scan('{lake}/registry/model_events') WHERE event_type = 'stage_transition' ORDER BY seq"),
]


def check_sql(binary, lake, con):
    """`lakescore sql` gives the numbers DuckDB's Delta extension gives."""
    import json as jsonlib

    for ours, theirs in README_QUERIES:
        out = jsonlib.loads(lakescore(binary, lake, "--json", "sql", ours))
        names = [c["name"] for c in out["columns"]]
        got = [tuple(row[n] for n in names) for row in out["rows"]]
        want = [tuple(r) for r in con.execute(theirs.format(lake=lake)).fetchall()]
        check(got, f"lakescore sql found no rows for {ours!r}: a README query must find some")
        check(len(got) == len(want), f"{ours!r}: {len(got)} rows, DuckDB {len(want)}")
        for g, w in zip(got, want):
            for a, b in zip(g, w):
                if isinstance(a, float) or isinstance(b, float):
                    check(abs(a - b) <= 1e-9 * max(1.0, abs(b)), f"{ours!r}: {g} vs DuckDB {w}")
                else:
                    check(a == b, f"{ours!r}: {g} vs DuckDB {w}")


def check_inference(binary, lake, con):
    """`lakescore serve` logs every scored row with its version: requests sent
    as an MLflow client sends them, then SIGTERM (which flushes the log)."""
    import os
    import signal
    import subprocess
    import urllib.request

    server = subprocess.Popen(
        [binary, "--json", "serve", "--model", "models:/churn@champion", "--port", "0"],
        cwd=REPO, env=dict(os.environ, LAKESCORE_LAKE=str(lake)),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    base = json.loads(server.stdout.readline())["address"]
    features = ["tenure_months", "monthly_charges", "support_calls", "contract_months", "late_payments"]
    rows = pq.read_table(REPO / "fixtures/demo/data/2024-01-01").slice(0, 30).to_pylist()
    for i in range(3):
        chunk = rows[i * 10:(i + 1) * 10]
        body = json.dumps({"dataframe_records": [{f: r[f] for f in features} for r in chunk]}).encode()
        request = urllib.request.Request(
            f"{base}/invocations", data=body, method="POST",
            headers={"Content-Type": "application/json", "x-request-id": f"ci-{i}"},
        )
        with urllib.request.urlopen(request) as response:
            check(response.status == 200, f"serve answered {response.status}")
            check(response.headers["lakescore-model-version"] == "1", "serve: version header")
    server.send_signal(signal.SIGTERM)
    check(server.wait(timeout=60) == 0, "serve did not exit 0 on SIGTERM")
    table = DeltaTable(str(lake / "inference/churn")).to_pyarrow_table()
    logged = table.to_pylist()
    check(len(logged) == 30, f"inference/churn: {len(logged)} rows, 30 answered")
    check({r["request_id"] for r in logged} == {"ci-0", "ci-1", "ci-2"}, "inference/churn: request ids")
    check({r["model_version"] for r in logged} == {1}, "inference/churn: model versions")
    expected = {r["customer_id"]: r["expected"] for r in pq.read_table(REPO / "fixtures/demo/expected.parquet").to_pylist()}
    by_input = {tuple(r[f] for f in features): r["customer_id"] for r in rows}
    for r in logged:
        key = tuple(r[f] for f in features)
        check(abs(r["prediction"] - expected[by_input[key]]) <= 1e-6, f"inference/churn: prediction {r}")
    check(types(table)["served_at"] == pa.timestamp("us", tz="UTC"), "inference/churn: served_at type")
    n = con.execute(f"SELECT count(*), count(DISTINCT request_id) FROM delta_scan('{lake}/inference/churn')").fetchone()
    check(n == (30, 3), f"DuckDB reads inference/churn as {n}")


def duckdb_with_delta():
    import duckdb_ext  # the package duckdb-ext-delta installs

    ext = Path(next(iter(duckdb_ext.__path__))) / "extensions"  # a namespace package
    found = sorted(ext.rglob("delta.duckdb_extension"))
    check(found, f"no delta.duckdb_extension under {ext}")
    con = duckdb.connect(config={"allow_unsigned_extensions": "true"})
    con.execute(f"LOAD '{found[0]}'")
    return con


def main():
    binary = sys.argv[1]
    con = duckdb_with_delta()
    with tempfile.TemporaryDirectory() as tmp:
        lake = Path(tmp) / "lake"
        build_lake(binary, lake)
        check_predictions(lake, con)
        check_runs(lake, con)
        check_drift(lake, con)
        check_registry(lake, con)
        # A failed run for the "failed this week" query.
        lakescore(binary, lake, "run", "jobs/demo.toml", "--date", "2031-01-01", codes=(2,))
        check_sql(binary, lake, con)
        check_inference(binary, lake, con)
    print("independent readers: deltalake and duckdb read predictions, runs, drift_metrics, "
          "the registry tables and the inference log of `lakescore serve` with the expected "
          "rows and types, and the README's queries give DuckDB's numbers through `lakescore sql`")


if __name__ == "__main__":
    main()
