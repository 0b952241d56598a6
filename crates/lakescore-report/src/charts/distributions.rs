//! Reference vs current distribution of one feature on one date: the share
//! of each window in each PSI bin (numeric, `(lower, upper]`) or category,
//! as the drift check counted them (`drift_histograms`).

use plotters::prelude::*;

use super::{CURRENT, Chart, ChartError, REFERENCE, Ticks, axes, draw, frame, legend};
use crate::model::HistogramBin;

const SIZE: (u32, u32) = (380, 220);

/// Side-by-side bars of the reference's and the current window's shares.
pub(crate) fn histogram(
    feature: &str,
    version: i64,
    bins: &[&HistogramBin],
) -> Result<Chart, ChartError> {
    let total = |f: fn(&HistogramBin) -> i64| bins.iter().map(|b| f(b)).sum::<i64>().max(1) as f64;
    let (ref_total, cur_total) = (total(|b| b.reference), total(|b| b.current));
    let shares: Vec<(f64, f64)> = bins
        .iter()
        .map(|b| (b.reference as f64 / ref_total, b.current as f64 / cur_total))
        .collect();
    let top = shares
        .iter()
        .map(|(r, c)| r.max(*c))
        .fold(0.0_f64, f64::max)
        .max(0.01)
        * 1.2;
    let labels: Vec<String> = bins.iter().map(|b| bin_label(b)).collect();
    let n = bins.len().max(1) as f64;
    draw(
        "histogram",
        format!("Reference vs current distribution of {feature} (model version {version})"),
        SIZE,
        |root| {
            let mut chart = frame(
                root,
                &format!("Distribution · {feature}"),
                false,
                40,
                -0.5..n - 0.5,
                0.0..top,
            )?;
            let bin_label = |x: &f64| {
                if (x - x.round()).abs() > 1e-6 {
                    return String::new();
                }
                labels.get(x.round() as usize).cloned().unwrap_or_default()
            };
            axes(
                &mut chart,
                &Ticks {
                    x: bins.len().clamp(1, 6),
                    x_label: &bin_label,
                    y: 4,
                    y_label: &|y| format!("{:.0}%", y * 100.0),
                    font_size: 10,
                },
            )?;
            chart
                .draw_series(shares.iter().enumerate().map(|(i, (r, _))| {
                    let x = i as f64;
                    Rectangle::new([(x - 0.4, 0.0), (x, *r)], REFERENCE.filled())
                }))?
                .label("reference")
                .legend(|(x, y)| Rectangle::new([(x, y - 4), (x + 9, y + 4)], REFERENCE.filled()));
            chart
                .draw_series(shares.iter().enumerate().map(|(i, (_, c))| {
                    let x = i as f64;
                    Rectangle::new([(x, 0.0), (x + 0.4, *c)], CURRENT.filled())
                }))?
                .label("current")
                .legend(|(x, y)| Rectangle::new([(x, y - 4), (x + 9, y + 4)], CURRENT.filled()));
            legend(&mut chart, SeriesLabelPosition::UpperRight, 10)
        },
    )
}

/// A bin's axis label: its category, or its upper edge (`≤1.5`; `>9` for the
/// open last bin).
fn bin_label(bin: &HistogramBin) -> String {
    if let Some(c) = &bin.category {
        return c.clone();
    }
    match (bin.lower, bin.upper) {
        (_, Some(u)) => format!("≤{}", short(u)),
        (Some(l), None) => format!(">{}", short(l)),
        (None, None) => "all".into(),
    }
}

/// A number in at most 4 significant digits.
fn short(x: f64) -> String {
    let s = format!("{x:.4}");
    let trimmed = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    if trimmed.len() > 7 {
        format!("{x:.2e}")
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_labelled_by_their_upper_edge_or_category() {
        let bin = |lower, upper, category: Option<&str>| HistogramBin {
            model_version: 1,
            feature: "x".into(),
            bin: 0,
            lower,
            upper,
            category: category.map(Into::into),
            reference: 1,
            current: 1,
        };
        assert_eq!(bin_label(&bin(None, Some(1.5), None)), "≤1.5");
        assert_eq!(bin_label(&bin(Some(9.0), None, None)), ">9");
        assert_eq!(bin_label(&bin(None, None, Some("north"))), "north");
        assert_eq!(short(123_456_789.0), "1.23e8");
        assert_eq!(short(0.25), "0.25");
    }
}
