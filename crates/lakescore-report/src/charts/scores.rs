//! A job's output per logical date: rows scored (bars) and mean prediction
//! (a line per model version), coloured by model version, with promotions
//! and rollbacks marked.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{
    Chart, ChartError, DateSpan, DrawErr, Plot, Ticks, axes, date_label, draw, draw_markers, frame,
    legend, version_color,
};
use crate::model::DailyScores;

const SIZE: (u32, u32) = (560, 260);

/// Bars of rows scored per date, one colour per model version.
pub(crate) fn rows(
    job: &str,
    daily: &[DailyScores],
    span: DateSpan,
    markers: &[(f64, String)],
) -> Result<Chart, ChartError> {
    let top = daily.iter().map(|d| d.rows).max().unwrap_or(0).max(1) as f64 * 1.15;
    draw(
        "scores-rows",
        format!("{job}: rows scored per day, by model version"),
        SIZE,
        |root| {
            let mut chart = per_day(root, "Rows scored per day", span, 0.0..top, &|y| {
                format!("{y:.0}")
            })?;
            let versions = by_version(daily);
            for (version, days) in &versions {
                let color = version_color(*version);
                chart
                    .draw_series(days.iter().map(|d| {
                        let x = DateSpan::x(d.date);
                        Rectangle::new([(x - 0.35, 0.0), (x + 0.35, d.rows as f64)], color.filled())
                    }))?
                    .label(format!("v{version}"))
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                    });
            }
            draw_markers(&mut chart, markers, 0.0..top)?;
            if !versions.is_empty() {
                legend(&mut chart, SeriesLabelPosition::UpperLeft, 12)?;
            }
            Ok(())
        },
    )
}

/// The mean prediction per date, a line per model version.
pub(crate) fn mean(
    job: &str,
    daily: &[DailyScores],
    span: DateSpan,
    markers: &[(f64, String)],
) -> Result<Chart, ChartError> {
    let means: Vec<f64> = daily.iter().filter_map(|d| d.mean_prediction).collect();
    let (lo, hi) = means
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), m| {
            (lo.min(*m), hi.max(*m))
        });
    let (lo, hi) = if lo.is_finite() {
        let pad = ((hi - lo) * 0.15).max(hi.abs().max(1e-3) * 0.05);
        (lo - pad, hi + pad)
    } else {
        (0.0, 1.0)
    };
    draw(
        "scores-mean",
        format!("{job}: mean prediction per day, by model version"),
        SIZE,
        |root| {
            let mut chart = per_day(root, "Mean prediction per day", span, lo..hi, &|y| {
                format!("{y:.3}")
            })?;
            let versions = by_version(daily);
            for (version, days) in &versions {
                let color = version_color(*version);
                let points: Vec<(f64, f64)> = days
                    .iter()
                    .filter_map(|d| Some((DateSpan::x(d.date), d.mean_prediction?)))
                    .collect();
                chart
                    .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
                    .label(format!("v{version}"))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 14, y)], color.stroke_width(2))
                    });
                chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
            }
            draw_markers(&mut chart, markers, lo..hi)?;
            if !versions.is_empty() {
                legend(&mut chart, SeriesLabelPosition::UpperLeft, 12)?;
            }
            Ok(())
        },
    )
}

/// A chart of one value per logical date, its axes drawn.
fn per_day<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    caption: &str,
    span: DateSpan,
    y: std::ops::Range<f64>,
    y_label: &dyn Fn(&f64) -> String,
) -> Result<Plot<'a, 'b, RangedCoordf64>, DrawErr> {
    let mut chart = frame(root, caption, true, 56, span.range(), y)?;
    axes(
        &mut chart,
        &Ticks {
            x: span.labels(SIZE.0),
            x_label: &date_label,
            y: 5,
            y_label,
            font_size: 12,
        },
    )?;
    Ok(chart)
}

/// The days of each model version, in date order.
fn by_version(daily: &[DailyScores]) -> BTreeMap<i64, Vec<&DailyScores>> {
    let mut out: BTreeMap<i64, Vec<&DailyScores>> = BTreeMap::new();
    for d in daily {
        out.entry(d.model_version).or_default().push(d);
    }
    for days in out.values_mut() {
        days.sort_by_key(|d| d.date);
    }
    out
}
