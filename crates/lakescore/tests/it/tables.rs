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
