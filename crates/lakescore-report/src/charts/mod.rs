//! The report's charts: each one an inline SVG drawn with plotters' SVG
//! backend. This module holds what they share: the drawing surface, the time
//! axis over logical dates, colours, and the chart wrapper the page embeds.

pub(crate) mod distributions;
pub(crate) mod drift;
pub(crate) mod runs;
pub(crate) mod scores;
pub(crate) mod timeline;

use std::error::Error as StdError;
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, Utc};
use lakescore_core::runs::{date_from_days, days_since_epoch};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;

use crate::model::Event;

/// What drawing a chart can fail with (a range plotters cannot lay out).
#[derive(Debug, thiserror::Error)]
#[error("drawing the {chart} chart")]
pub struct ChartError {
    pub chart: String,
    #[source]
    pub source: Box<dyn StdError + Send + Sync>,
}

/// What a drawing step fails with (plotters' error, boxed).
pub(crate) type DrawErr = Box<dyn StdError + Send + Sync>;
type Drawn = Result<(), DrawErr>;

/// A chart over an x range of numbers, its y axis linear or logarithmic.
pub(crate) type Plot<'a, 'b, Y> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, Y>>;

/// One drawn chart, ready to embed.
#[derive(Debug, Clone)]
pub struct Chart {
    /// What it shows (`scores-rows`, `psi`, `heatmap`, ...): the page's
    /// `data-chart` attribute, which the browser check counts.
    pub kind: &'static str,
    /// Its accessible name (and hover title).
    pub title: String,
    pub svg: String,
}

impl Chart {
    /// The SVG element with the chart's kind, title and a scalable size.
    pub fn html(&self) -> String {
        let mut out = String::with_capacity(self.svg.len() + 200);
        let title = escape(&self.title);
        let body = self.svg.strip_prefix("<svg ").unwrap_or(&self.svg);
        let _ = write!(
            out,
            "<svg class=\"chart\" data-chart=\"{}\" role=\"img\" aria-label=\"{title}\" ",
            self.kind
        );
        // The title first inside the element: browsers show it on hover.
        match body.find('>') {
            Some(end) => {
                out.push_str(&body[..=end]);
                let _ = write!(out, "<title>{title}</title>");
                out.push_str(&body[end + 1..]);
            }
            None => out.push_str(body),
        }
        out
    }
}

/// Escape text for an HTML attribute or element.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Draw on a white SVG surface of `size` pixels.
fn draw(
    kind: &'static str,
    title: String,
    size: (u32, u32),
    paint: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Drawn,
) -> Result<Chart, ChartError> {
    let mut svg = String::new();
    let fail = |source| ChartError {
        chart: title.clone(),
        source,
    };
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(e.into()))?;
        paint(&root).map_err(fail)?;
        root.present().map_err(|e| fail(e.into()))?;
    }
    Ok(Chart { kind, title, svg })
}

/// A chart's frame over an x range of numbers (dates, times or bins as
/// f64): caption, margins, label areas. `big` charts get the larger caption.
pub(crate) fn frame<'a, 'b, Y: AsRangedCoord>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    caption: &str,
    big: bool,
    y_area: u32,
    x: std::ops::Range<f64>,
    y: Y,
) -> Result<Plot<'a, 'b, Y::CoordDescType>, DrawErr> {
    let (caption_size, margin, x_area) = if big { (15, 10, 28) } else { (13, 8, 24) };
    Ok(ChartBuilder::on(root)
        .caption(caption, (FONT, caption_size))
        .margin(margin)
        .x_label_area_size(x_area)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x, y)?)
}

/// How a chart's axes are labelled.
pub(crate) struct Ticks<'f> {
    pub(crate) x: usize,
    pub(crate) x_label: &'f dyn Fn(&f64) -> String,
    pub(crate) y: usize,
    pub(crate) y_label: &'f dyn Fn(&f64) -> String,
    pub(crate) font_size: u32,
}

/// The axes every chart shares: labels, a light horizontal grid, no
/// vertical one.
pub(crate) fn axes<Y>(chart: &mut Plot<'_, '_, Y>, ticks: &Ticks<'_>) -> Drawn
where
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    chart
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(0)
        .bold_line_style(GRID)
        .x_labels(ticks.x)
        .x_label_formatter(ticks.x_label)
        .y_labels(ticks.y)
        .y_label_formatter(ticks.y_label)
        .label_style((FONT, ticks.font_size))
        .draw()?;
    Ok(())
}

/// The legend of the series drawn with labels.
pub(crate) fn legend<'a, 'b: 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, CT>,
    position: SeriesLabelPosition,
    font_size: u32,
) -> Drawn {
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(GRID)
        .label_font((FONT, font_size))
        .draw()?;
    Ok(())
}

/// The logical dates a chart spans, as days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DateSpan {
    pub(crate) first: i32,
    pub(crate) last: i32,
}

impl DateSpan {
    pub(crate) fn new(from: NaiveDate, to: NaiveDate) -> Self {
        DateSpan {
            first: days_since_epoch(from),
            last: days_since_epoch(to).max(days_since_epoch(from)),
        }
    }

    /// The x range: half a day beyond each end, so a bar or point at either
    /// end date is drawn whole.
    pub(crate) fn range(self) -> std::ops::Range<f64> {
        f64::from(self.first) - 0.5..f64::from(self.last) + 0.5
    }

    pub(crate) fn days(self) -> usize {
        usize::try_from(self.last - self.first + 1).unwrap_or(1)
    }

    /// How many date labels fit on an axis `width` pixels wide.
    pub(crate) fn labels(self, width: u32) -> usize {
        self.days().min((width / 80) as usize).max(1)
    }

    pub(crate) fn x(date: NaiveDate) -> f64 {
        f64::from(days_since_epoch(date))
    }
}

/// A date axis label: whole days only (plotters may place ticks between them).
#[allow(clippy::trivially_copy_pass_by_ref)] // plotters' label formatters take `&f64`
pub(crate) fn date_label(x: &f64) -> String {
    if (x - x.round()).abs() > 1e-6 {
        return String::new();
    }
    date_from_days(x.round() as i32)
        .format("%Y-%m-%d")
        .to_string()
}

/// A point in time as fractional days since 1970-01-01 (the time axes of
/// runs and registry events).
pub(crate) fn day_of(at: DateTime<Utc>) -> f64 {
    at.timestamp_micros() as f64 / 86_400e6
}

/// A label for fractional days since the epoch.
#[allow(clippy::trivially_copy_pass_by_ref)] // plotters' label formatters take `&f64`
pub(crate) fn time_label(x: &f64) -> String {
    DateTime::<Utc>::from_timestamp_micros((x * 86_400e6) as i64)
        .map(|t| t.format("%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

/// An x range around `xs` (fractional days), padded so that single points
/// and equal values still give a range.
pub(crate) fn padded(xs: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if !lo.is_finite() {
        return 0.0..1.0;
    }
    let pad = ((hi - lo) * 0.05).max(1.0 / 24.0);
    lo - pad..hi + pad
}

/// Colours, chosen to stay apart for the colour-blind (Tableau 10).
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Alerts, failures and thresholds.
pub(crate) const ALERT: RGBColor = RGBColor(214, 39, 40);
/// Promotions and rollbacks drawn on time axes.
pub(crate) const MARKER: RGBColor = RGBColor(90, 90, 90);
pub(crate) const REFERENCE: RGBColor = RGBColor(120, 144, 156);
pub(crate) const CURRENT: RGBColor = RGBColor(255, 127, 14);
pub(crate) const GRID: RGBColor = RGBColor(235, 235, 235);

/// The colour of a model version: the same version has the same colour in
/// every chart of the page.
pub(crate) fn version_color(version: i64) -> RGBColor {
    PALETTE[usize::try_from((version - 1).rem_euclid(10)).unwrap_or(0)]
}

pub(crate) const FONT: &str = "sans-serif";

/// A short label for a marker: `v2 Production`, `v3 @champion`,
/// `v1 rollback Production`.
pub(crate) fn marker_label(event: &Event) -> String {
    let target = event.target.as_deref().unwrap_or("");
    let what = match event.kind {
        lakescore_core::registry::EventKind::Rollback => format!("rollback {target}"),
        lakescore_core::registry::EventKind::AliasRemoved => format!("{target} removed"),
        _ => target.to_string(),
    };
    match event.version {
        Some(v) => format!("v{v} {what}"),
        None => what,
    }
}

/// Draw the events that move a reference as vertical lines with a label, on
/// a chart whose x axis is days since the epoch (those outside it are left
/// out). Events close together share a line and a label.
pub(crate) fn draw_markers(
    chart: &mut Plot<'_, '_, RangedCoordf64>,
    markers: &[(f64, String)],
    y: std::ops::Range<f64>,
) -> Drawn {
    let x_range = chart.x_range();
    let near = (x_range.end - x_range.start) * 0.02;
    let mut shown: Vec<(f64, Vec<&str>)> = Vec::new();
    for (x, label) in markers {
        if *x < x_range.start || *x > x_range.end {
            continue;
        }
        match shown.last_mut() {
            Some((at, labels)) if (*x - *at).abs() <= near => labels.push(label),
            _ => shown.push((*x, vec![label])),
        }
    }
    let step = (y.end - y.start) * 0.07;
    for (i, (x, labels)) in shown.iter().enumerate() {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(*x, y.start), (*x, y.end)],
            MARKER.stroke_width(1),
        )))?;
        // Alternate heights so that neighbouring labels do not overprint.
        let at = y.end - step * (i % 3) as f64;
        chart.draw_series(std::iter::once(Text::new(
            format!(" {}", labels.join(", ")),
            (*x, at),
            (FONT, 11).into_font().color(&MARKER),
        )))?;
    }
    Ok(())
}
