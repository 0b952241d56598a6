//! MLflow's scoring protocol (`mlflow/pyfunc/scoring_server`): a request body
//! to the model's input matrix, and predictions to the response body. Pure:
//! bytes in, matrix out, every refusal an [`Refusal`] with the status and
//! error code MLflow gives.
//!
//! Bodies: `application/json` with exactly one of `dataframe_split`
//! (`columns`, `data`, optional `index`), `dataframe_records` (a list of row
//! objects), `instances` (rows: objects, or lists in feature order) or
//! `inputs` (an object of columns, or rows as `instances`), plus an optional
//! `params`; or `text/csv` with a header row. Values: numbers, `null`
//! (missing, as NaN), and strings for categorical features (their category
//! names; an unknown name is missing). As MLflow's schema enforcement does, a
//! string or a boolean in a numeric column is refused, naming the column;
//! columns the model does not use are ignored.

use std::collections::HashMap;

use lakescore_engine::score::ModelInputs;
use lakescore_model::FeatureMatrix;
use serde_json::{Map, Value};

/// The format keys of a JSON body.
pub const FORMATS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];

/// How MLflow states what a JSON body must be.
const REQUIRED: &str = "The input must be a JSON dictionary with exactly one of the input fields \
                        {'dataframe_split', 'dataframe_records', 'instances', 'inputs'}";

/// MLflow's prefix for a `dataframe_split` pandas cannot build.
const NOT_SPLIT: &str = "Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error:";

/// A request refused: the HTTP status, MLflow's error code and the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Refusal {
            status: 400,
            code: "BAD_REQUEST",
            message: message.into(),
        }
    }

    fn media_type(message: String) -> Self {
        Refusal {
            status: 415,
            code: "BAD_REQUEST",
            message,
        }
    }

    /// The JSON body MLflow answers errors with (MLflow adds the Python
    /// stack trace; there is none to give here).
    pub fn body(&self) -> Value {
        serde_json::json!({ "error_code": self.code, "message": self.message, "stack_trace": null })
    }
}

/// How a body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Csv,
}

/// The encoding a `Content-Type` names; MLflow answers 415 to another media
/// type, a charset other than UTF-8, or any other parameter.
pub fn encoding(content_type: Option<&str>) -> Result<Encoding, Refusal> {
    let supported = "This predictor only supports the following content types: \
                     ['application/json', 'text/csv']";
    let Some(value) = content_type else {
        return Err(Refusal::media_type(format!(
            "{supported}. Got no content type."
        )));
    };
    let mut parts = value.split(';');
    let mime = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let encoding = match mime.as_str() {
        "application/json" => Encoding::Json,
        "text/csv" => Encoding::Csv,
        _ => return Err(Refusal::media_type(format!("{supported}. Got '{value}'."))),
    };
    for param in parts.filter(|p| !p.trim().is_empty()) {
        let (key, val) = param.split_once('=').unwrap_or((param, ""));
        let (key, val) = (
            key.trim().to_ascii_lowercase(),
            val.trim().trim_matches('"'),
        );
        if key != "charset" {
            return Err(Refusal::media_type(format!(
                "Unrecognized content type parameter: {key}. {supported}. Got '{value}'."
            )));
        }
        if !val.eq_ignore_ascii_case("utf-8") && !val.eq_ignore_ascii_case("utf8") {
            return Err(Refusal::media_type(format!(
                "The scoring server only supports UTF-8. Got charset {val}."
            )));
        }
    }
    Ok(encoding)
}

/// A cell of the request's table, before it meets the model's types.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Number(f64),
    Missing,
    Text(String),
    Bool(bool),
    Nested,
}

impl Cell {
    fn of(value: &Value) -> Cell {
        match value {
            Value::Number(n) => n.as_f64().map_or(Cell::Missing, Cell::Number),
            Value::Null => Cell::Missing,
            Value::String(s) => Cell::Text(s.clone()),
            Value::Bool(b) => Cell::Bool(*b),
            Value::Array(_) | Value::Object(_) => Cell::Nested,
        }
    }
}

/// The request as named columns of equal length.
#[derive(Debug, Clone, Default)]
struct Columns {
    rows: usize,
    by_name: HashMap<String, Vec<Cell>>,
    /// Positional columns (rows given as lists), in order.
    positional: Vec<Vec<Cell>>,
}

/// A parsed request: the model's input matrix, and the categorical inputs
/// as the request named them (for the inference log).
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub matrix: FeatureMatrix,
    /// Per feature: for categorical features, the names as given.
    pub labels: Vec<Option<Vec<Option<String>>>>,
}

/// Parse a body into the model's input matrix.
pub fn parse(body: &[u8], encoding: Encoding, inputs: &ModelInputs) -> Result<Parsed, Refusal> {
    let columns = match encoding {
        Encoding::Json => json_columns(body)?,
        Encoding::Csv => csv_columns(body)?,
    };
    to_matrix(&columns, inputs)
}

/// Python's `json` reads (and MLflow's client writes) `NaN`, `Infinity` and
/// `-Infinity`, which JSON lacks: outside strings they become `null` (a
/// missing value) and the largest finite numbers (above and below every split
/// of a tree).
fn python_json(body: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let has = |word: &[u8]| body.windows(word.len()).any(|w| w == word);
    if !has(b"NaN") && !has(b"Infinity") {
        return std::borrow::Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len() + 16);
    let (mut i, mut in_string, mut escaped) = (0, false, false);
    while i < body.len() {
        let b = body[i];
        if in_string {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        let rest = &body[i..];
        let (word, with): (&[u8], &[u8]) = if rest.starts_with(b"NaN") {
            (b"NaN", b"null")
        } else if rest.starts_with(b"-Infinity") {
            (b"-Infinity", b"-1.7976931348623157e308")
        } else if rest.starts_with(b"Infinity") {
            (b"Infinity", b"1.7976931348623157e308")
        } else {
            if b == b'"' {
                in_string = true;
            }
            out.push(b);
            i += 1;
            continue;
        };
        out.extend_from_slice(with);
        i += word.len();
    }
    std::borrow::Cow::Owned(out)
}

fn json_columns(body: &[u8]) -> Result<Columns, Refusal> {
    let body = python_json(body);
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        Refusal::bad_request(format!(
            "Failed to parse input from JSON. Ensure that input is a valid JSON formatted string. Error: '{e}'"
        ))
    })?;
    let Value::Object(map) = value else {
        return Err(Refusal::bad_request(match value {
            Value::Array(_) => format!("{REQUIRED}. Received a list."),
            other => format!(
                "{REQUIRED}. Received unexpected input type {}.",
                kind(&other)
            ),
        }));
    };
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    let formats: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| FORMATS.contains(k))
        .collect();
    if formats.len() != 1 {
        return Err(Refusal::bad_request(format!(
            "{REQUIRED}. Received dictionary with input fields: {}.",
            python_list(&keys)
        )));
    }
    let format = formats[0];
    let data = &map[format];
    match format {
        "dataframe_split" => split(data),
        "dataframe_records" => records(data, "dataframe_records"),
        "instances" => match data {
            Value::Array(_) => records(data, "instances"),
            other => Err(Refusal::bad_request(format!(
                "Failed to parse data as TF serving input. \"instances\" must be a list, got {}",
                kind(other)
            ))),
        },
        _ => match data {
            Value::Object(columns) => column_form(columns),
            Value::Array(_) => records(data, "inputs"),
            other => Err(Refusal::bad_request(format!(
                "Failed to parse data as TF serving input. \"inputs\" must be an object of \
                 columns or a list of rows, got {}",
                kind(other)
            ))),
        },
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a dictionary",
    }
}

/// pandas' `orient="split"`: `columns`, `data` (rows as lists), optional `index`.
fn split(data: &Value) -> Result<Columns, Refusal> {
    let Value::Object(split) = data else {
        return Err(Refusal::bad_request(format!(
            "Dataframe split format must be a dictionary. Got {}.",
            python_kind(data)
        )));
    };
    if !split.contains_key("data")
        || split
            .keys()
            .any(|k| !matches!(k.as_str(), "columns" | "data" | "index"))
    {
        let keys: Vec<&str> = split.keys().map(String::as_str).collect();
        return Err(Refusal::bad_request(format!(
            "Dataframe split format must have 'data' field and optionally 'columns' and \
             'index' fields. Got {}.",
            python_list(&keys)
        )));
    }
    let rows = match split.get("data") {
        Some(Value::Array(rows)) => rows,
        Some(other) => {
            return Err(Refusal::bad_request(format!(
                "{NOT_SPLIT} 'data' must be a list of rows, got {}",
                kind(other)
            )));
        }
        None => {
            return Err(Refusal::bad_request(
                "Dataframe split format must have 'data' field",
            ));
        }
    };
    let names: Option<Vec<String>> = match split.get("columns") {
        None => None,
        Some(Value::Array(names)) => Some(
            names
                .iter()
                .map(|n| match n {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        ),
        Some(other) => {
            return Err(Refusal::bad_request(format!(
                "{NOT_SPLIT} 'columns' must be a list, got {}",
                kind(other)
            )));
        }
    };
    // pandas broadcasts a single row over a longer index (so MLflow does).
    let broadcast = match split.get("index") {
        Some(Value::Array(index)) if rows.len() == 1 && index.len() > 1 => index.len(),
        _ => 1,
    };
    if let Some(Value::Array(index)) = split.get("index")
        && index.len() != rows.len()
        && broadcast == 1
    {
        return Err(Refusal::bad_request(format!(
            "{NOT_SPLIT} 'Length of values ({}) does not match length of index ({})'",
            rows.len(),
            index.len()
        )));
    }
    let width = names
        .as_ref()
        .map_or_else(|| rows.first().map_or(0, row_width), Vec::len);
    let mut cells: Vec<Vec<Cell>> = vec![Vec::with_capacity(rows.len()); width];
    for (r, row) in rows.iter().enumerate() {
        let values: Vec<&Value> = match row {
            Value::Array(values) => values.iter().collect(),
            // A one-column frame may give its rows as scalars.
            scalar if width == 1 => vec![scalar],
            other => {
                return Err(Refusal::bad_request(format!(
                    "{NOT_SPLIT} row {r} of 'data' must be a list, got {}",
                    kind(other)
                )));
            }
        };
        if values.len() != width {
            return Err(Refusal::bad_request(format!(
                "{NOT_SPLIT} '{width} columns passed, passed data had {} columns' (row {r})",
                values.len()
            )));
        }
        for (c, v) in values.into_iter().enumerate() {
            cells[c].push(Cell::of(v));
        }
    }
    if broadcast > 1 {
        for column in &mut cells {
            let value = column[0].clone();
            column.resize(broadcast, value);
        }
    }
    let mut out = Columns {
        rows: rows.len() * broadcast,
        ..Columns::default()
    };
    match names {
        Some(names) => {
            for (name, column) in names.into_iter().zip(cells) {
                if out.by_name.insert(name.clone(), column).is_some() {
                    return Err(Refusal::bad_request(format!(
                        "{NOT_SPLIT} column {name:?} is given twice"
                    )));
                }
            }
        }
        None => out.positional = cells,
    }
    Ok(out)
}

/// A JSON value's type as MLflow's messages name it (`list`, `dictionary`).
fn python_kind(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "list",
        Value::Object(_) => "dictionary",
        Value::String(_) => "type <class 'str'>",
        Value::Number(_) => "type <class 'float'>",
        Value::Bool(_) => "type <class 'bool'>",
        Value::Null => "type <class 'NoneType'>",
    }
}

fn row_width(row: &Value) -> usize {
    match row {
        Value::Array(values) => values.len(),
        _ => 1,
    }
}

/// Rows as objects (pandas' `orient="records"`; a key missing from a row is
/// missing there), or as lists in feature order.
fn records(data: &Value, field: &str) -> Result<Columns, Refusal> {
    let Value::Array(rows) = data else {
        return Err(Refusal::bad_request(if field == "dataframe_records" {
            format!(
                "Dataframe records format must be a list of records. Got {}.",
                python_kind(data)
            )
        } else {
            format!("{field} must be a list of records, got {}", kind(data))
        }));
    };
    let mut out = Columns {
        rows: rows.len(),
        ..Columns::default()
    };
    if rows.iter().all(|r| matches!(r, Value::Object(_))) {
        for (r, row) in rows.iter().enumerate() {
            let Value::Object(row) = row else { continue };
            for (name, value) in row {
                let column = out
                    .by_name
                    .entry(name.clone())
                    .or_insert_with(|| vec![Cell::Missing; r]);
                column.push(Cell::of(value));
            }
            for column in out.by_name.values_mut() {
                column.resize(r + 1, Cell::Missing);
            }
        }
        return Ok(out);
    }
    let width = rows.first().map_or(0, row_width);
    let mut cells: Vec<Vec<Cell>> = vec![Vec::with_capacity(rows.len()); width];
    for (r, row) in rows.iter().enumerate() {
        let values: Vec<&Value> = match row {
            Value::Array(values) => values.iter().collect(),
            Value::Object(_) => {
                return Err(Refusal::bad_request(format!(
                    "Failed to parse {field}: rows mix objects and lists (row {r})"
                )));
            }
            scalar => vec![scalar],
        };
        if values.len() != width {
            return Err(Refusal::bad_request(format!(
                "Failed to parse {field}: row {r} has {} values, row 0 has {width}",
                values.len()
            )));
        }
        for (c, v) in values.into_iter().enumerate() {
            cells[c].push(Cell::of(v));
        }
    }
    out.positional = cells;
    Ok(out)
}

/// `{"inputs": {"col": [values], ...}}`: columns of equal length.
fn column_form(columns: &Map<String, Value>) -> Result<Columns, Refusal> {
    let mut out = Columns::default();
    let mut first: Option<(&str, usize)> = None;
    for (name, values) in columns {
        let cells: Vec<Cell> = match values {
            Value::Array(values) => values.iter().map(Cell::of).collect(),
            scalar => vec![Cell::of(scalar)],
        };
        match first {
            None => first = Some((name, cells.len())),
            Some((other, n)) if n != cells.len() => {
                return Err(Refusal::bad_request(format!(
                    "Failed to parse data as TF serving input. The length of values for each \
                     input/column name are not the same: {other:?} has {n}, {name:?} has {}",
                    cells.len()
                )));
            }
            Some(_) => {}
        }
        out.by_name.insert(name.clone(), cells);
    }
    out.rows = first.map_or(0, |(_, n)| n);
    Ok(out)
}

/// A CSV body with a header row (pandas' `read_csv`): numbers where a field
/// parses as one, empty fields missing, other fields text.
fn csv_columns(body: &[u8]) -> Result<Columns, Refusal> {
    let text = std::str::from_utf8(body)
        .map_err(|e| Refusal::bad_request(format!("Failed to parse input as CSV: {e}")))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| Refusal::bad_request(format!("Failed to parse input as CSV: {e}")))?
        .clone();
    if headers.is_empty() || (headers.len() == 1 && headers[0].trim().is_empty()) {
        return Err(Refusal::bad_request(
            "Failed to parse input as a Pandas DataFrame: No columns to parse from file",
        ));
    }
    let mut cells: Vec<Vec<Cell>> = vec![Vec::new(); headers.len()];
    let mut rows = 0;
    for (r, record) in reader.records().enumerate() {
        let record = record.map_err(|e| {
            Refusal::bad_request(format!("Failed to parse input as CSV: row {}: {e}", r + 1))
        })?;
        for (c, field) in record.iter().enumerate() {
            let field = field.trim();
            cells[c].push(if field.is_empty() {
                Cell::Missing
            } else if let Ok(x) = field.parse::<f64>() {
                Cell::Number(x)
            } else {
                Cell::Text(field.to_string())
            });
        }
        rows += 1;
    }
    let mut out = Columns {
        rows,
        ..Columns::default()
    };
    for (name, column) in headers.iter().zip(cells) {
        out.by_name.insert(name.trim().to_string(), column);
    }
    Ok(out)
}

/// The request's columns in the model's feature order, typed as the model
/// takes them.
fn to_matrix(columns: &Columns, inputs: &ModelInputs) -> Result<Parsed, Refusal> {
    let features = &inputs.features;
    let given: Vec<&Vec<Cell>> = if columns.positional.is_empty() {
        let missing: Vec<&str> = features
            .iter()
            .filter(|f| !columns.by_name.contains_key(f.as_str()))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() && columns.rows > 0 {
            return Err(Refusal::bad_request(format!(
                "Failed to enforce schema of data with schema [{}]. Error: Model is missing \
                 inputs {}.",
                schema_text(inputs),
                python_list(&missing)
            )));
        }
        features
            .iter()
            .map(|f| columns.by_name.get(f.as_str()))
            .map(|c| c.unwrap_or(&EMPTY))
            .collect()
    } else {
        if columns.positional.len() != features.len() {
            return Err(Refusal::bad_request(format!(
                "Failed to enforce schema: rows given as lists must have one value per model \
                 input in order [{}]; got {} values",
                features.join(", "),
                columns.positional.len()
            )));
        }
        columns.positional.iter().collect()
    };
    let mut matrix = FeatureMatrix {
        rows: columns.rows,
        columns: Vec::with_capacity(features.len()),
    };
    let mut labels = Vec::with_capacity(features.len());
    for (i, (name, cells)) in features.iter().zip(given).enumerate() {
        let categorical = inputs.categorical.get(i).copied().unwrap_or(false);
        let codes: Option<HashMap<&str, f64>> = inputs
            .categories
            .get(i)
            .and_then(Option::as_ref)
            .map(|names| {
                names
                    .iter()
                    .enumerate()
                    .map(|(c, n)| (n.as_str(), c as f64))
                    .collect()
            });
        let mut values = Vec::with_capacity(columns.rows);
        let mut names = categorical.then(|| Vec::with_capacity(columns.rows));
        for cell in cells.iter().take(columns.rows) {
            let (value, label) = match (cell, categorical, &codes) {
                (Cell::Number(x), _, _) => (*x, None),
                (Cell::Missing, _, _) => (f64::NAN, None),
                (Cell::Text(s), true, Some(codes)) => (
                    codes.get(s.as_str()).copied().unwrap_or(f64::NAN),
                    Some(s.clone()),
                ),
                (Cell::Text(s), true, None) => {
                    return Err(Refusal::bad_request(format!(
                        "Incompatible input types for column {name}: the model records no \
                         category names, so give category codes (got {s:?})"
                    )));
                }
                (Cell::Text(_) | Cell::Bool(_) | Cell::Nested, _, _) => {
                    return Err(Refusal::bad_request(format!(
                        "Failed to enforce schema of data with schema [{}]. Error: Incompatible \
                         input types for column {name}. Can not safely convert {} to float64.",
                        schema_text(inputs),
                        cell_type(cell)
                    )));
                }
            };
            values.push(value);
            if let Some(names) = names.as_mut() {
                names.push(label);
            }
        }
        matrix.columns.push(values);
        labels.push(names);
    }
    Ok(Parsed { matrix, labels })
}

static EMPTY: Vec<Cell> = Vec::new();

/// Names as Python prints a list of them (MLflow's messages do): `['a', 'b']`.
fn python_list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    format!("[{}]", quoted.join(", "))
}

fn cell_type(cell: &Cell) -> &'static str {
    match cell {
        Cell::Number(_) => "float64",
        Cell::Missing => "null",
        Cell::Text(_) => "object (a string)",
        Cell::Bool(_) => "bool",
        Cell::Nested => "object (a list or dictionary)",
    }
}

/// The input schema as MLflow prints it: `'x': double, 'region': string`.
fn schema_text(inputs: &ModelInputs) -> String {
    inputs
        .features
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let ty = if inputs.categorical.get(i).copied().unwrap_or(false) {
                "string"
            } else {
                "double"
            };
            format!("'{f}': {ty}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The response: `{"predictions": [...]}`, one number per row; for a
/// multiclass model one object per row with the class (`prediction`) and the
/// probability columns the batch output has (`prob_0`, ...). A missing
/// prediction is `null`.
pub fn response(prediction: &[f64], probabilities: &[Vec<f64>], outputs: &[String]) -> Value {
    let number = |x: f64| {
        if x.is_finite() {
            serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
        } else {
            Value::Null
        }
    };
    let rows: Vec<Value> = if probabilities.is_empty() {
        prediction.iter().map(|p| number(*p)).collect()
    } else {
        (0..prediction.len())
            .map(|r| {
                let mut row = Map::with_capacity(outputs.len() + 1);
                row.insert("prediction".into(), number(prediction[r]));
                for (name, column) in outputs.iter().zip(probabilities) {
                    row.insert(
                        name.clone(),
                        number(column.get(r).copied().unwrap_or(f64::NAN)),
                    );
                }
                Value::Object(row)
            })
            .collect()
    };
    serde_json::json!({ "predictions": rows })
}

#[cfg(test)]
mod tests;
