//! `lakescore sql QUERY`: plan the query over the lake's tables, then stream
//! the result in the chosen format to stdout or `--out`.

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write};

use anyhow::{Context as _, Result};
use lakescore_engine::sql::format::{Format, ResultWriter};
use lakescore_engine::sql::{self, SqlRequest};

use super::Context;
use crate::cli::{SqlArgs, SqlFormat};
use crate::exit::{ExitStatus, UsageError};

pub(crate) async fn sql(ctx: &Context, args: SqlArgs) -> Result<ExitStatus> {
    let lake = ctx.open_lake()?;
    let versions = args
        .versions
        .iter()
        .map(|v| {
            v.split_once('=')
                .and_then(|(n, x)| Some((n.trim().to_string(), x.trim().parse::<i64>().ok()?)))
                .ok_or_else(|| UsageError(format!("--version {v:?} must be NAME=VERSION")))
        })
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    if args.format == SqlFormat::Parquet && args.out.is_none() && std::io::stdout().is_terminal() {
        return Err(UsageError("--format parquet writes binary: give --out FILE".into()).into());
    }
    let request = SqlRequest {
        query: args.query,
        as_of: args.as_of,
        versions,
        tables: args.tables,
    };
    let planned = sql::plan(&lake, &request).await?;
    let json = ctx.printer.json;
    let out_path = args.out.clone();
    let format = args.format;
    // polars drives the query on its own threads: run it off the async runtime.
    tokio::task::spawn_blocking(move || -> Result<()> {
        let tables = planned.tables.clone();
        let schema = planned.schema.clone();
        if json {
            // One object: the columns with their types, the rows, the tables read.
            let mut buf = Vec::new();
            let mut w = ResultWriter::new(Format::Json, &mut buf, &schema)?;
            let rows = planned.run(|df| w.write(df))?;
            w.finish()?;
            let columns: Vec<serde_json::Value> = schema
                .iter()
                .map(|(n, t)| serde_json::json!({ "name": n.as_str(), "type": t.to_string() }))
                .collect();
            let value = serde_json::json!({
                "columns": columns,
                "rows": serde_json::from_slice::<serde_json::Value>(&buf)?,
                "row_count": rows,
                "tables": tables,
            });
            let mut out = std::io::stdout().lock();
            serde_json::to_writer(&mut out, &value).map_err(std::io::Error::from)?;
            writeln!(out)?;
            return Ok(());
        }
        let format = match format {
            SqlFormat::Table => Format::Table,
            SqlFormat::Csv => Format::Csv,
            SqlFormat::Json => Format::Json,
            SqlFormat::Ndjson => Format::Ndjson,
            SqlFormat::Parquet => Format::Parquet,
        };
        let out: Box<dyn Write + Send> = match &out_path {
            Some(path) => Box::new(std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?,
            )),
            None => Box::new(std::io::BufWriter::new(std::io::stdout())),
        };
        let mut w = ResultWriter::new(format, out, &schema)?;
        planned.run(|df| w.write(df))?;
        w.finish()?;
        Ok(())
    })
    .await??;
    Ok(ExitStatus::Success)
}
