//! The tables lakescore owns: each one's schema, as its Delta log records it,
//! is the one derived from its row type (and the snapshot documents it).

use lakescore_core::registry::{EVENTS_TABLE, ModelEventRow, ModelVersionRow, VERSIONS_TABLE};
use lakescore_core::runs::RUNS_TABLE;
use lakescore_core::table::TableRow;
use lakescore_engine::runner::drift_table::{
    DRIFT_TABLE, DriftRow, HISTOGRAMS_TABLE, HistogramRow,
};
use lakescore_lake::schema_of;

use super::*;

/// `name: type (nullable)` per column, one per line.
fn describe(schema: &arrow::datatypes::Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| {
            format!(
                "{}: {}{}",
                f.name(),
                f.data_type(),
                if f.is_nullable() { " (nullable)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn check<T: TableRow>(env: &Env, table: &str) -> String {
    let derived = schema_of::<T>();
    let stored = runtime().block_on(async {
        let lake = Lake::open(env.lake().to_str().unwrap()).unwrap();
        let t = lake.open_table(table).await.unwrap().expect("table exists");
        t.arrow_schema().unwrap()
    });
    assert_eq!(
        describe(&stored),
        describe(&derived),
        "{table}: the Delta schema differs from the row type's"
    );
    describe(&derived)
}

#[test]
fn each_table_schema_is_the_one_derived_from_its_row_type() {
    let env = Env::new();
    env.register_demo_with_reference();
    let spec = env.demo_spec(&demo_input());
    env.ok(&["run", &spec, "--date", "2024-01-01"]);
    insta::assert_snapshot!("runs", check::<RunRow>(&env, RUNS_TABLE));
    insta::assert_snapshot!("drift_metrics", check::<DriftRow>(&env, DRIFT_TABLE));
    insta::assert_snapshot!(
        "drift_histograms",
        check::<HistogramRow>(&env, HISTOGRAMS_TABLE)
    );
    insta::assert_snapshot!(
        "model_versions",
        check::<ModelVersionRow>(&env, VERSIONS_TABLE)
    );
    insta::assert_snapshot!("model_events", check::<ModelEventRow>(&env, EVENTS_TABLE));
}

const PHASES: [&str; 6] = [
    "resolve_ms",
    "read_ms",
    "score_ms",
    "drift_ms",
    "write_ms",
    "commit_ms",
];

/// Every run records where its time went, in `runs` (read back through
/// delta-rs) and in `--json`: the phases on the run's thread add up to no more
/// than its duration (writing overlaps them, on its own thread, and is
/// itself within it), and the throughput is its rows over it.
#[test]
fn runs_record_their_phase_timings() {
    let env = Env::new();
    env.register_demo_with_reference();
    let spec = env.demo_spec(&demo_input());
    let out = env.ok(&["run", &spec, "--date", "2024-01-01", "--json"]);
    let report: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let timings = &report["timings"];
    // Writing runs on its own thread, overlapping the others: not in the sum.
    let phase_sum: i64 = PHASES
        .iter()
        .filter(|k| **k != "write_ms")
        .map(|k| {
            timings[k]
                .as_i64()
                .unwrap_or_else(|| panic!("{k} in {timings}"))
        })
        .sum();
    let duration = report["duration_ms"].as_i64().unwrap();
    // Each phase is truncated to whole milliseconds, as the duration is.
    assert!(phase_sum <= duration, "{phase_sum} > {duration}");
    assert!(timings["write_ms"].as_i64().unwrap() <= duration);
    assert!(timings["score_ms"].as_i64().unwrap() + timings["read_ms"].as_i64().unwrap() > 0);
    let rate = report["rows_per_second"].as_f64().unwrap();
    let rows = report["rows_in"].as_f64().unwrap();
    let expected = rows * 1000.0 / duration as f64;
    assert!((rate / expected - 1.0).abs() < 0.05, "{rate} vs {expected}");

    let row = read_runs(&env.lake()).pop().unwrap();
    assert_eq!(row.run_id, report["run_id"].as_str().unwrap());
    let recorded = [
        row.resolve_ms,
        row.read_ms,
        row.score_ms,
        row.drift_ms,
        row.write_ms,
        row.commit_ms,
    ];
    let wanted: Vec<Option<i64>> = PHASES.iter().map(|k| timings[k].as_i64()).collect();
    assert_eq!(recorded.to_vec(), wanted);
    assert!(
        row.rows_per_second
            .is_some_and(|r| (r - rate).abs() < 1e-6 * rate)
    );

    // A dry run records nothing and reports no throughput.
    let out = env.ok(&["run", &spec, "--date", "2024-01-01", "--dry-run", "--json"]);
    let dry: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(dry["rows_per_second"].is_null());
}
