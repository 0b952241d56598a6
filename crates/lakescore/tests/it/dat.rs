//! The Delta Acceptance Testing reader cases (fixtures/dat, written by Spark):
//! every case and version scored through a `format = "delta"` job, its rows
//! compared with the case's expected content. Partition columns (strings,
//! dates, binary, nulls, escaped and non-ASCII values) are read as keys and
//! features like any other column.

use arrow::array::{Array, RecordBatch};
use arrow::util::display::array_value_to_string;

use super::*;

/// Every case's folder and the versions it has expected content for
/// (`None`: the latest).
fn cases() -> Vec<(PathBuf, Vec<Option<i64>>)> {
    let root = repo().join("fixtures/dat");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        let case = entry.path();
        if !case.join("delta").is_dir() {
            continue;
        }
        let mut versions: Vec<Option<i64>> = std::fs::read_dir(case.join("expected"))
            .unwrap()
            .flatten()
            .map(|v| {
                let name = v.file_name().to_string_lossy().into_owned();
                name.strip_prefix('v').map(|n| n.parse().unwrap())
            })
            .collect();
        versions.sort();
        out.push((case, versions));
    }
    out.sort();
    out
}

/// Rows as sorted lines of `column=value` over `columns`, in arrow's display form.
fn row_lines(batches: &[RecordBatch], columns: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    for b in batches {
        for row in 0..b.num_rows() {
            let cells: Vec<String> = columns
                .iter()
                .map(|c| {
                    let col = b
                        .column_by_name(c)
                        .unwrap_or_else(|| panic!("no column {c}"));
                    if col.is_null(row) {
                        format!("{c}=NULL")
                    } else {
                        format!("{c}={}", array_value_to_string(col, row).unwrap())
                    }
                })
                .collect();
            lines.push(cells.join(" "));
        }
    }
    lines.sort();
    lines
}

/// A linear model `prediction = 2 * feature + 1`, registered as `name`.
fn register_linear(env: &Env, name: &str, feature: &str) {
    let path = env.path(&format!("{name}.json"));
    std::fs::write(
        &path,
        format!(
            r#"{{"format": "lakescore.linear/v1", "features": ["{feature}"], "coefficients": [2.0], "intercept": 1.0, "link": "identity"}}"#
        ),
    )
    .unwrap();
    env.ok(&[
        "registry",
        "register",
        name,
        "--flavor",
        "linear",
        "--artifact",
        path.to_str().unwrap(),
    ]);
}

#[test]
fn every_dat_reader_case_and_version_scores_its_expected_rows() {
    let env = Env::new();
    let mut checked = 0;
    for (case, versions) in cases() {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!versions.is_empty(), "{name}: no expected versions");
        for version in versions {
            let label = version.map_or("latest".to_string(), |v| format!("v{v}"));
            let expected_path = case.join(format!("expected/{label}/table_content.parquet"));
            let expected = lakescore_engine::score::read_parquet(&expected_path).unwrap();
            let columns: Vec<String> = expected
                .get_column_names()
                .iter()
                .map(ToString::to_string)
                .collect();
            let feature = if columns.iter().any(|c| c == "number") {
                "number"
            } else {
                "num1"
            };
            let model = format!("dat_{name}_{label}");
            register_linear(&env, &model, feature);
            let keys: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
            let spec = env.spec(
                &model,
                &format!(
                    "name = \"{model}\"\n[model]\nuri = \"models:/{model}/1\"\n[input]\n\
                     format = \"delta\"\npath = \"{}\"\n{}keys = [{}]\n[output]\ntable = \"predictions/{model}\"\n",
                    case.join("delta").display(),
                    version.map_or(String::new(), |v| format!("version = {v}\n")),
                    keys.join(", ")
                ),
            );
            env.ok(&["run", &spec, "--date", "2024-01-01"]);
            let (_, batches) = read_table(&env.lake(), &format!("predictions/{model}")).unwrap();
            let want = lakescore_engine::bridge::polars_to_arrow(&expected).unwrap();
            assert_eq!(
                row_lines(&batches, &columns),
                row_lines(&want, &columns),
                "{name} {label}: the rows read differ from the expected content"
            );
            // Each prediction is 2 * feature + 1 of its own row.
            let numbers: Vec<String> = row_lines(&batches, &[feature.to_string()]);
            let predictions = row_lines(&batches, &["prediction".to_string()]);
            assert_eq!(numbers.len(), predictions.len());
            let f = f64_column(&batches, "prediction");
            let inputs: Vec<f64> = batches
                .iter()
                .flat_map(|b| {
                    let c = arrow::compute::cast(
                        b.column_by_name(feature).unwrap(),
                        &arrow::datatypes::DataType::Float64,
                    )
                    .unwrap();
                    let c = c.as_primitive::<Float64Type>().clone();
                    (0..c.len()).map(move |i| c.value(i)).collect::<Vec<_>>()
                })
                .collect();
            for (p, x) in f.iter().zip(&inputs) {
                assert!(
                    (p - (2.0 * x + 1.0)).abs() < 1e-12,
                    "{name} {label}: {p} vs {x}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(
        checked, 12,
        "every DAT case-version of the fixtures was checked"
    );
}

/// A partition filter reads only the files of the matching partition: a
/// table partitioned by day is read one day at a time.
#[test]
fn a_partition_filter_reads_one_partition() {
    let env = Env::new();
    register_linear(&env, "dat_filter", "number");
    let table = repo().join("fixtures/dat/multi_partitioned/delta");
    let spec = env.spec(
        "filter",
        &format!(
            "name = \"by_day\"\n[model]\nuri = \"models:/dat_filter/1\"\n[input]\nformat = \"delta\"\n\
             path = \"{}\"\nversion = 1\npartition_filter = {{ date = \"{{{{ ds }}}}\" }}\n\
             keys = [\"letter\", \"date\", \"number\"]\n",
            table.display()
        ),
    );
    let out = json(&env.ok(&["--json", "run", &spec, "--date", "1970-01-02"]));
    assert_eq!(out["rows"], 1, "{out}");
    let (_, batches) = read_table(&env.lake(), "predictions/by_day").unwrap();
    assert_eq!(
        row_lines(&batches, &["date".into(), "number".into()]),
        vec!["date=1970-01-02 number=3".to_string()]
    );
    // A filter on a column that is not a partition column is refused, naming the columns.
    let bad = env.spec(
        "bad",
        &format!(
            "name = \"bad\"\n[model]\nuri = \"models:/dat_filter/1\"\n[input]\nformat = \"delta\"\n\
             path = \"{}\"\npartition_filter = {{ number = \"1\" }}\nkeys = [\"number\"]\n",
            table.display()
        ),
    );
    let (_, err) = env.expect(2, &["run", &bad, "--date", "1970-01-02"]);
    assert!(
        err.contains("\"number\"") && err.contains("letter, date, data"),
        "{err}"
    );
}

/// `lakescore sql` reads a Spark-written table with a binary partition
/// column (polars' Hive reader has no binary type: the files are scanned
/// one by one with their partition values from the log).
#[test]
fn sql_reads_a_table_partitioned_by_a_binary_column() {
    let env = Env::new();
    std::fs::create_dir_all(env.lake()).unwrap();
    let table = repo().join("fixtures/dat/multi_partitioned/delta");
    let out = json(&env.ok(&[
        "--json",
        "sql",
        "--table",
        &format!("t={}", table.display()),
        "SELECT letter, number FROM t ORDER BY number",
    ]));
    assert_eq!(out["row_count"], 2, "{out}");
    assert_eq!(out["rows"][0]["letter"], "/%20%f", "{out}");
    assert_eq!(out["rows"][1]["number"], 7, "{out}");
}
