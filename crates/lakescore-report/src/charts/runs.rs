//! A job's run attempts over time: how long each took, coloured by how it
//! ended (failures in red), with promotions and rollbacks marked.

use lakescore_core::runs::RunStatus;
use plotters::prelude::*;

use super::{
    ALERT, Chart, ChartError, PALETTE, Ticks, axes, day_of, draw, draw_markers, frame, legend,
    padded, time_label,
};
use crate::model::Run;

const SIZE: (u32, u32) = (560, 260);

/// The colour of a run's status (a drift alert is a success with alerts).
pub(crate) fn status_color(run: &Run) -> RGBColor {
    match run.status {
        RunStatus::Succeeded if run.drift_alerts > 0 => PALETTE[1],
        RunStatus::Succeeded => PALETTE[2],
        RunStatus::Failed => ALERT,
        RunStatus::Running | RunStatus::DryRun => PALETTE[0],
        RunStatus::Aborted | RunStatus::Interrupted => PALETTE[7],
    }
}

/// Each attempt at its start time, its height the time it took.
pub(crate) fn durations(
    job: &str,
    runs: &[&Run],
    markers: &[(f64, String)],
) -> Result<Chart, ChartError> {
    let x = padded(runs.iter().map(|r| day_of(r.started_at)));
    let top = runs
        .iter()
        .map(|r| r.duration_ms as f64 / 1000.0)
        .fold(0.0_f64, f64::max)
        .max(0.1)
        * 1.2;
    draw(
        "run-durations",
        format!("{job}: run attempts, duration by start time"),
        SIZE,
        |root| {
            let mut chart = frame(
                root,
                "Run attempts: duration (s)",
                true,
                56,
                x.clone(),
                0.0..top,
            )?;
            axes(
                &mut chart,
                &Ticks {
                    x: 5,
                    x_label: &time_label,
                    y: 5,
                    y_label: &|y| format!("{y:.1}"),
                    font_size: 12,
                },
            )?;
            chart.draw_series(runs.iter().map(|r| {
                let at = day_of(r.started_at);
                PathElement::new(
                    vec![(at, 0.0), (at, r.duration_ms as f64 / 1000.0)],
                    status_color(r).stroke_width(2),
                )
            }))?;
            for (status, color) in [
                ("succeeded", PALETTE[2]),
                ("drift alert", PALETTE[1]),
                ("failed", ALERT),
                ("interrupted or aborted", PALETTE[7]),
            ] {
                let shown: Vec<&&Run> = runs.iter().filter(|r| status_color(r) == color).collect();
                if shown.is_empty() {
                    continue;
                }
                chart
                    .draw_series(shown.iter().map(|r| {
                        Circle::new(
                            (day_of(r.started_at), r.duration_ms as f64 / 1000.0),
                            4,
                            color.filled(),
                        )
                    }))?
                    .label(status)
                    .legend(move |(x, y)| Circle::new((x + 5, y), 4, color.filled()));
            }
            draw_markers(&mut chart, markers, 0.0..top)?;
            legend(&mut chart, SeriesLabelPosition::UpperLeft, 12)
        },
    )
}
