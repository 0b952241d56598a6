//! Input frames: the plan's files read one after another, in slices, each
//! slice with its own streaming query.

use std::num::NonZeroUsize;

use polars::prelude::*;

use super::files::Files;
use super::{InputPlan, Result, ScoreError};

/// Rows one streaming query reads at least (rounded up to whole batches).
/// polars' Parquet source decodes ahead of its consumer, as far as the
/// query reaches: a query over a whole file held most of a 500,000-row file
/// decoded at once, so memory grew with the size of the input's files.
/// Measured on the README's end-to-end job: 65,536 rows peaked no lower and
/// cost more CPU; 262,144 peaked about 30 MB higher.
const SLICE_ROWS: usize = 131_072;

/// Input batches of at most `batch_rows` rows with the plan's columns.
///
/// Files are read one after another, each in slices of [`SLICE_ROWS`] rows
/// (a whole number of batches), each slice with its own streaming query, so
/// that polars decodes at most the slice being consumed and the next one
/// (started as soon as the one before it is, so that decoding overlaps
/// scoring): peak memory follows the slice and batch sizes and the input's
/// row-group size, not the size or number of files. A slice that yields
/// fewer rows than it asked for ends its file.
pub struct FrameStream {
    /// The query over the current slice, and the one over the next slice of
    /// the same file.
    batches: Option<CollectBatches>,
    ahead: Option<Result<CollectBatches>>,
    /// The file being read, the first row of its next slice, and how many
    /// rows the current slice has yielded so far.
    file: usize,
    next_row: usize,
    yielded: usize,
    /// The files, and how they are reached.
    files: Files,
    columns: Vec<Expr>,
    pattern: String,
    batch_rows: usize,
    slice_rows: usize,
}

impl FrameStream {
    /// Stream the keys, features and monitored columns of `plan`.
    pub fn new(plan: &InputPlan) -> Self {
        let columns: Vec<Expr> = plan
            .keys
            .iter()
            .chain(&plan.features)
            .chain(plan.monitored.iter().map(|(c, _)| c))
            .fold(Vec::<&String>::new(), |mut acc, c| {
                if !acc.contains(&c) {
                    acc.push(c);
                }
                acc
            })
            .into_iter()
            .map(|c| col(c.as_str()))
            .collect();
        Self {
            batches: None,
            ahead: None,
            file: 0,
            next_row: 0,
            yielded: 0,
            files: plan.files.clone(),
            columns,
            pattern: plan.pattern.clone(),
            batch_rows: plan.batch_rows,
            slice_rows: SLICE_ROWS.div_ceil(plan.batch_rows) * plan.batch_rows,
        }
    }

    /// A running streaming query over `slice_rows` rows of file `file` from
    /// `offset`.
    fn query(&self, file: usize, offset: usize) -> Result<CollectBatches> {
        self.files
            .scan_file(file)
            .map(|lf| {
                lf.select(self.columns.clone())
                    .slice(offset as i64, self.slice_rows as IdxSize)
            })
            .and_then(|lf| {
                lf.collect_batches(
                    Engine::Streaming,
                    true,
                    NonZeroUsize::new(self.batch_rows),
                    false,
                )
            })
            .map_err(|source| ScoreError::Read {
                pattern: self.files.locations()[file].clone(),
                source,
            })
    }

    /// Move to the next slice (its query started already, or started now)
    /// and start the one after it; `None` when every file is read.
    fn open_next(&mut self) -> Option<Result<()>> {
        self.files.locations().get(self.file)?;
        let current = match self.ahead.take() {
            Some(query) => query,
            None => self.query(self.file, self.next_row),
        };
        self.next_row += self.slice_rows;
        self.yielded = 0;
        self.ahead = Some(self.query(self.file, self.next_row));
        Some(current.map(|b| self.batches = Some(b)))
    }
}

impl Iterator for FrameStream {
    type Item = Result<DataFrame>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(batches) = &mut self.batches {
                match batches.next() {
                    Some(Ok(df)) if df.height() == 0 => continue,
                    Some(Ok(df)) => {
                        self.yielded += df.height();
                        return Some(Ok(df));
                    }
                    Some(Err(source)) => {
                        return Some(Err(ScoreError::Read {
                            pattern: self.pattern.clone(),
                            source,
                        }));
                    }
                    None => {
                        self.batches = None;
                        if self.yielded < self.slice_rows {
                            // The file ended: the query over the slice
                            // after it (empty) is dropped, which stops it.
                            self.ahead = None;
                            self.file += 1;
                            self.next_row = 0;
                        }
                    }
                }
            }
            if let Err(e) = self.open_next()? {
                return Some(Err(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use polars::prelude::*;

    use super::*;
    use crate::score::ModelInputs;

    /// A file `rows` long (`id` 0.., `x` = id / 2) in row groups of 700 rows.
    fn write(dir: &Path, name: &str, rows: i64) -> std::path::PathBuf {
        let path = dir.join(name);
        let ids: Vec<i64> = (0..rows).collect();
        let xs: Vec<f64> = ids.iter().map(|&i| i as f64 / 2.0).collect();
        let mut df = df!("id" => ids, "x" => xs).unwrap();
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .with_row_group_size(Some(700))
            .finish(&mut df)
            .unwrap();
        path
    }

    /// Slices cover every file exactly once and in order: a file that ends
    /// inside a slice, one that ends on a slice boundary (an empty slice
    /// follows), and an empty file.
    #[test]
    fn slices_read_every_row_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let paths = vec![
            write(dir.path(), "a.parquet", 4_500),
            write(dir.path(), "b.parquet", 4_000),
            write(dir.path(), "c.parquet", 0),
        ];
        let plan = InputPlan::inspect(
            "*.parquet",
            Files::local(paths),
            &["id".to_string()],
            &[],
            &ModelInputs::numeric(&["x".to_string()]),
            1_000,
        )
        .unwrap();
        assert_eq!(
            plan.plain_columns(),
            ["id", "prediction"],
            "keys and scores"
        );
        let mut stream = FrameStream::new(&plan);
        assert_eq!(stream.slice_rows, 132_000, "a whole number of batches");
        stream.slice_rows = 2_000;
        let mut ids = Vec::new();
        let mut queries = 0;
        while let Some(frame) = stream.next() {
            let frame = frame.unwrap();
            assert!(frame.height() <= 1_000);
            ids.extend(
                frame
                    .column("id")
                    .unwrap()
                    .i64()
                    .unwrap()
                    .into_no_null_iter(),
            );
            queries = queries.max(stream.next_row / 2_000);
        }
        let expected: Vec<i64> = (0..4_500).chain(0..4_000).collect();
        assert_eq!(ids, expected);
        assert_eq!(queries, 3, "the longest file took three slices");
    }
}
