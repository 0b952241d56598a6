//! The protocol's parsing on its own; the same cases go through the real
//! server in `crates/lakescore/tests/it/serve.rs`.

use super::*;

fn inputs() -> ModelInputs {
    ModelInputs {
        features: vec!["a".into(), "b".into(), "region".into()],
        categorical: vec![false, false, true],
        categories: vec![None, None, Some(vec!["north".into(), "south".into()])],
        outputs: Vec::new(),
    }
}

fn json(body: &str) -> Result<Parsed, Refusal> {
    parse(body.as_bytes(), Encoding::Json, &inputs())
}

fn nan_eq(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
}

fn assert_matrix(parsed: &Parsed, want: &[&[f64]]) {
    assert_eq!(parsed.matrix.columns.len(), want.len());
    for (got, want) in parsed.matrix.columns.iter().zip(want) {
        assert!(nan_eq(got, want), "{got:?} != {want:?}");
    }
}

#[test]
fn every_format_gives_the_same_matrix() {
    let want: &[&[f64]] = &[&[1.0, 3.0], &[2.0, f64::NAN], &[0.0, 1.0]];
    for body in [
        r#"{"dataframe_split": {"columns": ["a", "b", "region"], "data": [[1, 2, "north"], [3, null, "south"]]}}"#,
        r#"{"dataframe_split": {"index": [7, 8], "columns": ["region", "b", "a", "extra"], "data": [["north", 2, 1, "x"], ["south", null, 3, "y"]]}}"#,
        r#"{"dataframe_records": [{"a": 1, "b": 2, "region": "north"}, {"a": 3, "region": "south"}]}"#,
        r#"{"instances": [{"a": 1, "b": 2, "region": "north"}, {"a": 3, "b": null, "region": "south"}]}"#,
        r#"{"instances": [[1, 2, "north"], [3, null, "south"]]}"#,
        r#"{"inputs": {"a": [1, 3], "b": [2, null], "region": ["north", "south"]}}"#,
        r#"{"inputs": [{"a": 1, "b": 2, "region": "north"}, {"a": 3, "region": "south"}], "params": {"x": 1}}"#,
    ] {
        let parsed = json(body).unwrap_or_else(|e| panic!("{body}: {e}"));
        assert_eq!(parsed.matrix.rows, 2, "{body}");
        assert_matrix(&parsed, want);
        assert_eq!(
            parsed.labels[2],
            Some(vec![Some("north".into()), Some("south".into())])
        );
    }
    let csv = parse(
        b"a,b,region\n1,2,north\n3,,south\n",
        Encoding::Csv,
        &inputs(),
    )
    .unwrap();
    assert_matrix(&csv, want);
}

#[test]
fn malformed_bodies_are_bad_requests() {
    for (body, says) in [
        ("not,json", "Failed to parse input from JSON"),
        ("[1, 2]", "exactly one of the input fields"),
        ("1", "Received unexpected input type"),
        (
            r#"{"not": "a serialized dataframe"}"#,
            "exactly one of the input fields",
        ),
        (
            r#"{"dataframe_split": {"columns": ["a"], "data": [[1]]}, "instances": [[1]]}"#,
            "exactly one of the input fields",
        ),
        // Orientations swapped (MLflow's test of invalid pandas formats).
        (
            r#"{"dataframe_split": [{"a": 1, "b": 2, "region": "north"}]}"#,
            "Dataframe split format must be a dictionary. Got list.",
        ),
        (
            r#"{"dataframe_records": {"columns": ["a"], "data": [[1]]}}"#,
            "Dataframe records format must be a list of records. Got dictionary.",
        ),
        (
            r#"{"dataframe_split": {"index": [1, 2], "data": [[1], [2], [3]]}}"#,
            "Provided dataframe_split field is not a valid dataframe representation",
        ),
        (
            r#"{"dataframe_split": {"columns": ["a"]}}"#,
            "Dataframe split format must have 'data' field",
        ),
        (
            r#"{"dataframe_split": {"columns": ["a", "b", "region"], "index": [0, 1, 2], "data": [[1, 2, "north"], [3, 4, "south"]]}}"#,
            "does not match length of index",
        ),
        (
            r#"{"dataframe_split": {"columns": ["a", "b", "region"], "data": [[1, 2]]}}"#,
            "3 columns passed, passed data had 2 columns",
        ),
        (
            r#"{"inputs": {"a": [1, 2], "b": [1], "region": ["north", "south"]}}"#,
            "are not the same",
        ),
        (
            r#"{"instances": {"a": [1]}}"#,
            "\"instances\" must be a list",
        ),
        (
            r#"{"dataframe_records": [{"a": 1, "region": "north"}]}"#,
            "Model is missing inputs ['b']",
        ),
        (
            r#"{"dataframe_records": [{"a": "x", "b": 1, "region": "north"}]}"#,
            "Incompatible input types for column a",
        ),
        (
            r#"{"dataframe_records": [{"a": true, "b": 1, "region": "north"}]}"#,
            "Can not safely convert bool to float64",
        ),
        (r#"{"instances": [[1, 2]]}"#, "one value per model input"),
    ] {
        let refusal = json(body).expect_err(body);
        assert_eq!(refusal.status, 400, "{body}");
        assert_eq!(refusal.code, "BAD_REQUEST");
        assert!(
            refusal.message.contains(says),
            "{body}: {}",
            refusal.message
        );
    }
    let empty = parse(b"", Encoding::Csv, &inputs()).unwrap_err();
    assert_eq!(empty.status, 400);
    assert!(empty.message.contains("No columns to parse"), "{empty}");
}

#[test]
fn content_types_as_mlflow_takes_them() {
    assert_eq!(encoding(Some("application/json")), Ok(Encoding::Json));
    assert_eq!(
        encoding(Some("application/json; charset=UTF-8")),
        Ok(Encoding::Json)
    );
    assert_eq!(encoding(Some("text/csv")), Ok(Encoding::Csv));
    for refused in [
        None,
        Some("text/plain"),
        Some("application/json; charset=UTF-16"),
        Some("application/json; format=pandas-split"),
        Some("application/octet-stream"),
    ] {
        let r = encoding(refused).expect_err(&format!("{refused:?}"));
        assert_eq!(r.status, 415, "{refused:?}");
    }
}

#[test]
fn one_row_is_broadcast_over_a_longer_index_as_pandas_does() {
    let parsed =
        json(r#"{"dataframe_split": {"columns": ["a", "b", "region"], "index": [0, 1, 2], "data": [[1, 2, "north"]]}}"#)
            .unwrap();
    assert_eq!(parsed.matrix.rows, 3);
    assert_matrix(&parsed, &[&[1.0; 3], &[2.0; 3], &[0.0; 3]]);
}

#[test]
fn python_json_values_are_read_as_mlflow_reads_them() {
    let parsed = json(
        r#"{"dataframe_records": [{"a": NaN, "b": Infinity, "region": "NaN"}, {"a": -Infinity, "b": 1, "region": "x\"NaN"}]}"#,
    )
    .unwrap();
    assert!(parsed.matrix.columns[0][0].is_nan());
    assert_eq!(parsed.matrix.columns[0][1], f64::MIN);
    assert_eq!(parsed.matrix.columns[1][0], f64::MAX);
    // Inside strings nothing changes.
    assert_eq!(
        parsed.labels[2],
        Some(vec![Some("NaN".into()), Some("x\"NaN".into())])
    );
}

#[test]
fn an_empty_request_scores_no_rows() {
    let parsed = json(r#"{"dataframe_records": []}"#).unwrap();
    assert_eq!(parsed.matrix.rows, 0);
    assert_eq!(
        response(&[], &[], &[]),
        serde_json::json!({"predictions": []})
    );
}

#[test]
fn responses_name_the_batch_output_columns() {
    let single = response(&[0.25, f64::NAN], &[], &[]);
    assert_eq!(single, serde_json::json!({"predictions": [0.25, null]}));
    let multi = response(
        &[1.0],
        &[vec![0.2], vec![0.8]],
        &["prob_0".into(), "prob_1".into()],
    );
    assert_eq!(
        multi,
        serde_json::json!({"predictions": [{"prediction": 1.0, "prob_0": 0.2, "prob_1": 0.8}]})
    );
}
