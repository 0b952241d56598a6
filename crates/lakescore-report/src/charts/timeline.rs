//! The registry over time: one lane per model version, a mark per event
//! (registration, stage transition, alias, approval, rollback), so a person
//! sees which version held which stage when. The page lists the same events
//! with actor and comment below the chart.

use std::collections::BTreeSet;

use lakescore_core::registry::EventKind;
use plotters::prelude::*;

use super::{
    ALERT, Chart, ChartError, FONT, PALETTE, Ticks, axes, day_of, draw, frame, legend, padded,
    time_label,
};
use crate::model::Event;

/// The kinds drawn, their legend name and colour (other kinds, such as tags
/// and comments, are listed in the table only).
const KINDS: [(&str, RGBColor); 6] = [
    ("registered", PALETTE[0]),
    ("stage transition", PALETTE[2]),
    ("alias", PALETTE[4]),
    ("request / approval", PALETTE[8]),
    ("rejected", PALETTE[7]),
    ("rollback", ALERT),
];

fn kind_of(kind: &EventKind) -> Option<usize> {
    Some(match kind {
        EventKind::Registered => 0,
        EventKind::StageTransition => 1,
        EventKind::AliasSet | EventKind::AliasRemoved => 2,
        EventKind::TransitionRequested | EventKind::TransitionApproved => 3,
        EventKind::TransitionRejected => 4,
        EventKind::Rollback => 5,
        _ => return None,
    })
}

/// The timeline of `events` (those with a version and a drawn kind).
pub(crate) fn registry(events: &[Event]) -> Result<Chart, ChartError> {
    let drawn: Vec<(&Event, usize)> = events
        .iter()
        .filter(|e| e.version.is_some())
        .filter_map(|e| Some((e, kind_of(&e.kind)?)))
        .collect();
    let lanes: Vec<(String, i64)> = drawn
        .iter()
        .filter_map(|(e, _)| Some((e.model.clone(), e.version?)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let x = padded(drawn.iter().map(|(e, _)| day_of(e.at)));
    let label_width = (lanes
        .iter()
        .map(|(m, v)| m.len() + v.to_string().len() + 3)
        .max()
        .unwrap_or(8) as u32
        * 7
        + 12)
        .min(400);
    let height = 90 + lanes.len().max(1) as u32 * 26;
    let width = 900;
    let rows = lanes.len().max(1) as f64;
    let lane_of = |e: &Event| {
        lanes
            .iter()
            .position(|(m, v)| *m == e.model && Some(*v) == e.version)
            .map(|i| rows - 1.0 - i as f64)
    };
    draw(
        "registry-timeline",
        "Registry timeline: events by model version".into(),
        (width, height),
        |root| {
            let mut chart = frame(
                root,
                "Registry timeline",
                true,
                label_width,
                x.clone(),
                -0.5..rows - 0.5,
            )?;
            let lane_label = |y: &f64| {
                if (y - y.round()).abs() > 1e-6 {
                    return String::new();
                }
                let i = (rows - 1.0 - y.round()) as usize;
                lanes
                    .get(i)
                    .map(|(m, v)| format!("{m} v{v}"))
                    .unwrap_or_default()
            };
            axes(
                &mut chart,
                &Ticks {
                    x: 6,
                    x_label: &time_label,
                    y: lanes.len().max(1),
                    y_label: &lane_label,
                    font_size: 11,
                },
            )?;
            for (k, (name, color)) in KINDS.iter().enumerate() {
                let points: Vec<(f64, f64)> = drawn
                    .iter()
                    .filter(|(_, kind)| *kind == k)
                    .filter_map(|(e, _)| Some((day_of(e.at), lane_of(e)?)))
                    .collect();
                if points.is_empty() {
                    continue;
                }
                let color = *color;
                chart
                    .draw_series(
                        points
                            .iter()
                            .map(|p| TriangleMarker::new(*p, 6, color.filled())),
                    )?
                    .label(*name)
                    .legend(move |(x, y)| TriangleMarker::new((x + 5, y), 5, color.filled()));
            }
            // Stage and alias names beside their marks, at alternating
            // heights so that events close in time stay readable.
            chart.draw_series(
                drawn
                    .iter()
                    .filter(|(_, k)| matches!(k, 1 | 2 | 5))
                    .enumerate()
                    .filter_map(|(i, (e, _))| {
                        let above = if i % 2 == 0 { 0.38 } else { -0.22 };
                        Some(Text::new(
                            format!(" {}", e.detail),
                            (day_of(e.at), lane_of(e)? + above),
                            (FONT, 10).into_font().color(&BLACK),
                        ))
                    }),
            )?;
            if !drawn.is_empty() {
                legend(&mut chart, SeriesLabelPosition::LowerRight, 11)?;
            }
            Ok(())
        },
    )
}
