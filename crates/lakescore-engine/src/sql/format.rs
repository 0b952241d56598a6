//! Writing a query's result batches: an aligned text table for people, CSV,
//! JSON (one array), NDJSON (one object per line) or Parquet. CSV and JSON
//! are arrow-rs' writers (dates and timestamps in ISO 8601); Parquet is
//! polars' batched writer. Every format but the text table streams: a
//! result larger than memory can be written to a file.

use std::io::Write;

use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use polars::prelude::*;

use super::{Result, SqlError};
use crate::bridge::polars_to_arrow;

/// The output format of `lakescore sql`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns, for a terminal.
    Table,
    Csv,
    /// One JSON array of row objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    Parquet,
}

/// Writes batches in one format to `out`.
pub struct ResultWriter<W: Write + Send> {
    state: State<W>,
}

enum State<W: Write + Send> {
    Table {
        out: W,
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    Csv(arrow::csv::Writer<W>),
    Json(arrow::json::ArrayWriter<W>),
    Ndjson(arrow::json::LineDelimitedWriter<W>),
    Parquet(polars::io::parquet::write::BatchedWriter<W>),
}

impl<W: Write + Send> ResultWriter<W> {
    /// A writer for results with `schema`.
    pub fn new(format: Format, mut out: W, schema: &Schema) -> Result<Self> {
        let header: Vec<String> = schema.iter_names().map(ToString::to_string).collect();
        let state = match format {
            Format::Table => State::Table {
                out,
                header,
                rows: Vec::new(),
            },
            Format::Csv => {
                // The header is written here, so an empty result still has one.
                let names: Vec<String> = header.iter().map(|h| csv_field(h)).collect();
                writeln!(out, "{}", names.join(",")).map_err(SqlError::Write)?;
                State::Csv(
                    arrow::csv::WriterBuilder::new()
                        .with_header(false)
                        .build(out),
                )
            }
            Format::Json => State::Json(arrow::json::ArrayWriter::new(out)),
            Format::Ndjson => State::Ndjson(arrow::json::LineDelimitedWriter::new(out)),
            Format::Parquet => State::Parquet(
                ParquetWriter::new(out)
                    .batched(schema)
                    .map_err(SqlError::WriteParquet)?,
            ),
        };
        Ok(Self { state })
    }

    /// Write one batch of the result.
    pub fn write(&mut self, df: &DataFrame) -> Result<()> {
        if let State::Parquet(w) = &mut self.state {
            return w.write_batch(df).map_err(SqlError::WriteParquet);
        }
        let batches = polars_to_arrow(df).map_err(|source| SqlError::Bridge {
            name: "the result".into(),
            source,
        })?;
        for batch in &batches {
            match &mut self.state {
                State::Table { rows, .. } => rows.extend(text_rows(batch)?),
                State::Csv(w) => w.write(batch).map_err(SqlError::Format)?,
                State::Json(w) => w.write(batch).map_err(SqlError::Format)?,
                State::Ndjson(w) => w.write(batch).map_err(SqlError::Format)?,
                State::Parquet(_) => unreachable!("written above"),
            }
        }
        Ok(())
    }

    /// Finish the output (footers, the table's alignment) and flush it.
    pub fn finish(self) -> Result<()> {
        match self.state {
            State::Table {
                mut out,
                header,
                rows,
            } => {
                let mut tw = tabwriter::TabWriter::new(&mut out).padding(2);
                let clean = |s: &str| s.replace(['\t', '\n'], " ");
                let line = |cells: &[String]| {
                    cells
                        .iter()
                        .map(|c| clean(c))
                        .collect::<Vec<_>>()
                        .join("\t")
                };
                writeln!(tw, "{}", line(&header)).map_err(SqlError::Write)?;
                for row in &rows {
                    writeln!(tw, "{}", line(row)).map_err(SqlError::Write)?;
                }
                tw.flush().map_err(SqlError::Write)?;
                drop(tw);
                writeln!(
                    out,
                    "({} row{})",
                    rows.len(),
                    if rows.len() == 1 { "" } else { "s" }
                )
                .map_err(SqlError::Write)?;
                out.flush().map_err(SqlError::Write)
            }
            State::Csv(w) => w.into_inner().flush().map_err(SqlError::Write),
            State::Json(mut w) => {
                w.finish().map_err(SqlError::Format)?;
                let mut out = w.into_inner();
                writeln!(out).map_err(SqlError::Write)?;
                out.flush().map_err(SqlError::Write)
            }
            State::Ndjson(mut w) => {
                w.finish().map_err(SqlError::Format)?;
                w.into_inner().flush().map_err(SqlError::Write)
            }
            State::Parquet(w) => w.finish().map(|_| ()).map_err(SqlError::WriteParquet),
        }
    }
}

/// A CSV header field, quoted when it must be.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A batch's cells as text (dates and timestamps in ISO 8601, NULL for nulls).
fn text_rows(batch: &RecordBatch) -> Result<Vec<Vec<String>>> {
    let options = FormatOptions::default().with_null("NULL");
    let formatters = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<Vec<_>, _>>()
        .map_err(SqlError::Format)?;
    Ok((0..batch.num_rows())
        .map(|row| {
            formatters
                .iter()
                .map(|f| f.value(row).to_string())
                .collect()
        })
        .collect())
}
