//! Drift over time for one model version: PSI and the KS p-value of each
//! feature against its alert threshold (small multiples), and a feature x
//! date heat map of PSI.

use plotters::prelude::*;

use super::{
    ALERT, Chart, ChartError, DateSpan, Drawn, PALETTE, Plot, Ticks, axes, date_label, draw, frame,
};
use crate::model::DriftPoint;

const SMALL: (u32, u32) = (380, 200);
/// The smallest p-value drawn (the log axis' floor; smaller ones sit on it).
const P_FLOOR: f64 = 1e-12;

/// PSI of one feature over the dates, its threshold dashed in red, alerting
/// dates as red points.
pub(crate) fn psi(
    feature: &str,
    version: i64,
    points: &[&DriftPoint],
    span: DateSpan,
) -> Result<Chart, ChartError> {
    let threshold = points.iter().find_map(|p| p.threshold);
    let top = points
        .iter()
        .filter_map(|p| p.value)
        .chain(threshold)
        .fold(0.0_f64, f64::max)
        .max(0.05)
        * 1.2;
    let series: Vec<(f64, f64, bool)> = points
        .iter()
        .filter_map(|p| Some((DateSpan::x(p.date), p.value?, p.alert)))
        .collect();
    draw(
        "psi",
        format!("PSI of {feature} (model version {version})"),
        SMALL,
        |root| {
            let mut chart = frame(
                root,
                &format!("PSI · {feature}"),
                false,
                44,
                span.range(),
                0.0..top,
            )?;
            axes(&mut chart, &small_ticks(span, &|y| format!("{y:.2}")))?;
            if let Some(t) = threshold {
                threshold_line(&mut chart, span, t)?;
            }
            line_with_alerts(&mut chart, &series)
        },
    )
}

/// The KS p-value of one feature over the dates on a log axis; an alert is a
/// p-value under the threshold.
pub(crate) fn ks(
    feature: &str,
    version: i64,
    points: &[&DriftPoint],
    span: DateSpan,
) -> Result<Chart, ChartError> {
    let threshold = points.iter().find_map(|p| p.threshold);
    let series: Vec<(f64, f64, bool)> = points
        .iter()
        .filter_map(|p| Some((DateSpan::x(p.date), p.p_value?.max(P_FLOOR), p.alert)))
        .collect();
    draw(
        "ks",
        format!("KS p-value of {feature} (model version {version})"),
        SMALL,
        |root| {
            let mut chart = frame(
                root,
                &format!("KS p-value · {feature}"),
                false,
                44,
                span.range(),
                (P_FLOOR..1.5).log_scale(),
            )?;
            axes(&mut chart, &small_ticks(span, &|y| format!("{y:.0e}")))?;
            if let Some(t) = threshold.filter(|t| *t > 0.0) {
                threshold_line(&mut chart, span, t)?;
            }
            line_with_alerts(&mut chart, &series)
        },
    )
}

/// The ticks of a small multiple over dates.
fn small_ticks(span: DateSpan, y_label: &dyn Fn(&f64) -> String) -> Ticks<'_> {
    Ticks {
        x: span.labels(SMALL.0),
        x_label: &date_label,
        y: 4,
        y_label,
        font_size: 10,
    }
}

fn threshold_line<Y: Ranged<ValueType = f64>>(
    chart: &mut Plot<'_, '_, Y>,
    span: DateSpan,
    t: f64,
) -> Drawn {
    chart.draw_series(DashedLineSeries::new(
        vec![(span.range().start, t), (span.range().end, t)],
        4,
        3,
        ALERT.stroke_width(1),
    ))?;
    Ok(())
}

fn line_with_alerts<Y: Ranged<ValueType = f64>>(
    chart: &mut Plot<'_, '_, Y>,
    series: &[(f64, f64, bool)],
) -> Drawn {
    chart.draw_series(LineSeries::new(
        series.iter().map(|(x, y, _)| (*x, *y)),
        PALETTE[0].stroke_width(2),
    ))?;
    chart.draw_series(series.iter().map(|(x, y, alert)| {
        let color = if *alert { ALERT } else { PALETTE[0] };
        Circle::new((*x, *y), if *alert { 4 } else { 3 }, color.filled())
    }))?;
    Ok(())
}

/// Feature x date: each cell's colour is its PSI against the feature's
/// threshold (white at 0, red at or over it); alerting cells are outlined.
pub(crate) fn heatmap(
    version: i64,
    features: &[String],
    points: &[&DriftPoint],
    span: DateSpan,
) -> Result<Chart, ChartError> {
    // Long names are cut by the label area rather than widening it past the chart.
    let label_width =
        (features.iter().map(String::len).max().unwrap_or(8) as u32 * 7 + 16).min(400);
    let width = (label_width + 40 + span.days() as u32 * 14).clamp(560, 1400);
    let height = 70 + features.len() as u32 * 18;
    let rows = features.len().max(1) as f64;
    draw(
        "heatmap",
        format!("PSI by feature and date (model version {version})"),
        (width, height),
        |root| {
            let mut chart = frame(
                root,
                "PSI by feature and date",
                true,
                label_width,
                span.range(),
                -0.5..rows - 0.5,
            )?;
            let names = features.to_vec();
            let feature_label = |y: &f64| {
                if (y - y.round()).abs() > 1e-6 {
                    return String::new();
                }
                let row = names.len() as f64 - 1.0 - y.round();
                names.get(row as usize).cloned().unwrap_or_default()
            };
            axes(
                &mut chart,
                &Ticks {
                    x: span.labels(width.saturating_sub(label_width)),
                    x_label: &date_label,
                    y: features.len().max(1),
                    y_label: &feature_label,
                    font_size: 11,
                },
            )?;
            let row_of = |feature: &str| {
                features
                    .iter()
                    .position(|f| f == feature)
                    .map(|i| rows - 1.0 - i as f64)
            };
            let cells: Vec<(f64, f64, f64, bool)> = points
                .iter()
                .filter_map(|p| {
                    let share = match (p.value, p.threshold) {
                        (Some(v), Some(t)) if t > 0.0 => (v / t).clamp(0.0, 1.0),
                        (Some(v), _) => v.clamp(0.0, 1.0),
                        (None, _) => return None,
                    };
                    Some((DateSpan::x(p.date), row_of(&p.feature)?, share, p.alert))
                })
                .collect();
            chart.draw_series(cells.iter().map(|(x, y, share, _)| {
                Rectangle::new(
                    [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                    heat(*share).filled(),
                )
            }))?;
            chart.draw_series(cells.iter().filter(|c| c.3).map(|(x, y, _, _)| {
                Rectangle::new(
                    [(x - 0.45, y - 0.45), (x + 0.45, y + 0.45)],
                    BLACK.stroke_width(2),
                )
            }))?;
            Ok(())
        },
    )
}

/// White (0) through orange to red (1).
fn heat(share: f64) -> RGBColor {
    let lerp = |a: u8, b: u8, t: f64| (f64::from(a) + (f64::from(b) - f64::from(a)) * t) as u8;
    if share < 0.5 {
        let t = share * 2.0;
        RGBColor(255, lerp(250, 190, t), lerp(240, 120, t))
    } else {
        let t = (share - 0.5) * 2.0;
        RGBColor(lerp(255, 214, t), lerp(190, 39, t), lerp(120, 40, t))
    }
}
