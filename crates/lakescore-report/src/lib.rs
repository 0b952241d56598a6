//! lakescore's monitoring report: one self-contained HTML page (inline SVG
//! charts drawn with plotters, inline CSS and a few lines of script; nothing
//! fetched, so it opens offline) rendered from a [`Report`] the engine
//! gathers from the lake. Pure: data in, text out.
//!
//! The page holds an overview of every job, then per job its scores per day
//! by model version with promotions marked, its run attempts, drift per
//! model version (PSI and KS p-value per feature over time against their
//! thresholds, a feature x date heat map of PSI) and the reference vs current
//! distributions of one date; then the registry timeline and a sortable,
//! filterable table of runs.

mod charts;
pub mod model;
mod page;

use std::collections::BTreeMap;

pub use charts::{Chart, ChartError};
pub use model::{DailyScores, DriftPoint, Event, HistogramBin, JobReport, Report, Run};

/// A rendered page.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub html: String,
    /// How many charts of each kind the page holds (the `data-chart`
    /// attribute of each SVG).
    pub charts: BTreeMap<&'static str, usize>,
}

/// Render `report` as one HTML page.
pub fn render(report: &Report) -> Result<Rendered, ChartError> {
    let page = page::Page::draw(report)?;
    let mut charts = BTreeMap::new();
    for chart in page.charts() {
        *charts.entry(chart.kind).or_insert(0) += 1;
    }
    Ok(Rendered {
        html: page.html(report),
        charts,
    })
}

#[cfg(test)]
mod tests;
