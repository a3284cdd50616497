//! `--plot FILE.svg`: the function and the windowed reference, each panel on one time axis for
//! both. Top: each change's staleness (upload to fresh) against its upload time (the axis spans
//! the uploads), so where the function waits longer than the reference shows as its points above
//! the reference's. Below, on the storm's whole time: the changes uploaded and not yet fresh, then
//! the exact paths and the wildcards in progress on the distribution (everyone's: the quota is
//! shared), so what holds the room while changes wait lines up with the wait.

use std::collections::BTreeSet;
use std::path::Path;

use cf_invalidator::model::{API_MAX_PATHS_IN_PROGRESS, API_MAX_WILDCARDS_IN_PROGRESS};
use plotters::prelude::*;

use crate::measure;
use crate::workload::Storm;
use crate::world::Made;

const FUNCTION: RGBColor = RGBColor(31, 119, 180);
const REFERENCE: RGBColor = RGBColor(214, 39, 40);

/// Each upload's (upload minute, staleness minutes), one point per distinct pair of seconds, and
/// how many uploads are never fresh within the horizon.
fn staleness(storm: &Storm, made: &[Made]) -> (Vec<(f64, f64)>, usize) {
    let fresh = measure::coverage(storm, made).fresh;
    let seconds: BTreeSet<(u64, u64)> =
        storm.uploads.iter().zip(&fresh).filter_map(|(u, f)| f.map(|f| (u.arrival, f.div_ceil(1000)))).collect();
    let points = seconds.into_iter().map(|(a, f)| (a as f64 / 60.0, f as f64 / 60.0)).collect();
    (points, fresh.iter().filter(|f| f.is_none()).count())
}

/// The changes uploaded and not yet fresh over time, as steps: (minute, count).
fn waiting(storm: &Storm, made: &[Made]) -> Vec<(f64, usize)> {
    let fresh = measure::coverage(storm, made).fresh;
    // Counted per second (one step a second at most keeps the SVG small).
    let mut delta: std::collections::BTreeMap<u64, i64> = std::collections::BTreeMap::new();
    for (u, f) in storm.uploads.iter().zip(&fresh) {
        *delta.entry(u.arrival).or_default() += 1;
        *delta.entry(f.map_or(storm.horizon, |f| (u.arrival * 1000 + f).div_ceil(1000))).or_default() -= 1;
    }
    let mut n = 0_i64;
    let mut steps = vec![(0.0, 0)];
    for (t, d) in delta {
        let x = t as f64 / 60.0;
        steps.push((x, n as usize));
        n += d;
        steps.push((x, n as usize));
    }
    steps
}

/// One step of room in use: (minute, exact paths, wildcards).
type RoomStep = (f64, usize, usize);
/// A panel of room in use: its title, the quota, and the figure of a step it draws.
type RoomPanel = (&'static str, usize, fn(&RoomStep) -> usize);

/// The room in use over time, as steps: (minute, exact paths, wildcards), everyone's
/// invalidations; one leaves the quota the millisecond it completes.
fn room_in_use(made: &[Made]) -> Vec<RoomStep> {
    let mut events: Vec<(u64, bool, usize, usize)> = Vec::new();
    for m in made {
        let wild = m.paths.iter().filter(|p| p.ends_with('*')).count();
        events.push((m.created_ms, true, m.paths.len() - wild, wild));
        events.push((m.completes_ms, false, m.paths.len() - wild, wild));
    }
    // Completions before creations within a millisecond.
    events.sort_by_key(|&(t, create, _, _)| (t, create));
    let (mut exact, mut wild) = (0_usize, 0_usize);
    let mut steps = vec![(0.0, 0, 0)];
    for (t, create, e, w) in events {
        let x = t as f64 / 60_000.0;
        steps.push((x, exact, wild));
        if create {
            (exact, wild) = (exact + e, wild + w);
        } else {
            (exact, wild) = (exact - e, wild - w);
        }
        steps.push((x, exact, wild));
    }
    steps
}

/// Writes the SVG.
pub fn draw(path: &Path, storm: &Storm, function: &[Made], reference: Option<&[Made]>) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let worlds: Vec<(&str, RGBColor, &[Made])> = std::iter::once(("function", FUNCTION, function))
        .chain(reference.map(|r| ("reference (windowed)", REFERENCE, r)))
        .collect();
    let stale: Vec<(Vec<(f64, f64)>, usize)> = worlds.iter().map(|(_, _, m)| staleness(storm, m)).collect();
    let rooms: Vec<Vec<RoomStep>> = worlds.iter().map(|(_, _, m)| room_in_use(m)).collect();
    let waits: Vec<Vec<(f64, usize)>> = worlds.iter().map(|(_, _, m)| waiting(storm, m)).collect();
    let end = rooms.iter().flatten().map(|s| s.0).chain(stale.iter().flat_map(|s| &s.0).map(|p| p.0 + p.1));
    let x_max = end.fold(1.0_f64, f64::max).min(storm.horizon as f64 / 60.0) * 1.02;
    let last_upload = storm.uploads.iter().map(|u| u.arrival).max().unwrap_or(0) as f64 / 60.0;
    let y_max = stale.iter().flat_map(|s| &s.0).map(|p| p.1).fold(1.0_f64, f64::max) * 1.05;

    let root = SVGBackend::new(path, (1200, 1200)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let panels = root.split_evenly((4, 1));

    let never: Vec<String> = worlds.iter().zip(&stale).map(|((name, _, _), s)| format!("{name}: {}", s.1)).collect();
    let mut chart = ChartBuilder::on(&panels[0])
        .caption(
            format!("Staleness of each change against its upload time (never fresh: {})", never.join(", ")),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..(last_upload * 1.02).max(1.0), 0.0..y_max)
        .map_err(|e| err(&e))?;
    chart.configure_mesh().x_desc("upload time (min)").y_desc("staleness (min)").draw().map_err(|e| err(&e))?;
    for ((name, color, _), (points, _)) in worlds.iter().zip(&stale) {
        let color = *color;
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 2, color.mix(0.6).filled())))
            .map_err(|e| err(&e))?
            .label(*name)
            .legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;

    let most = waits.iter().flatten().map(|s| s.1).max().unwrap_or(1).max(1);
    let mut chart = ChartBuilder::on(&panels[1])
        .caption("Changes uploaded and not yet fresh", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..(most as f64 * 1.05))
        .map_err(|e| err(&e))?;
    chart.configure_mesh().x_desc("time (min)").y_desc("changes").draw().map_err(|e| err(&e))?;
    for ((name, color, _), steps) in worlds.iter().zip(&waits) {
        let color = *color;
        chart
            .draw_series(LineSeries::new(steps.iter().map(|s| (s.0, s.1 as f64)), color.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;

    let room_panels: [RoomPanel; 2] = [
        ("exact paths in progress (of 3,000)", API_MAX_PATHS_IN_PROGRESS, |s| s.1),
        ("wildcards in progress (of 15)", API_MAX_WILDCARDS_IN_PROGRESS, |s| s.2),
    ];
    for (panel, (title, limit, pick)) in panels[2..].iter().zip(room_panels) {
        let mut chart = ChartBuilder::on(panel)
            .caption(format!("Room in use: {title}, everyone's invalidations"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_max, 0.0..(limit as f64 * 1.05))
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("time (min)")
            .y_desc(title.split(' ').next().unwrap_or(""))
            .draw()
            .map_err(|e| err(&e))?;
        for ((name, color, _), steps) in worlds.iter().zip(&rooms) {
            let color = *color;
            chart
                .draw_series(LineSeries::new(steps.iter().map(|s| (s.0, pick(s) as f64)), color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{Shape, Source, Span, Synthetic};
    use crate::world::{self, Function, Queueing, Rules};
    use std::time::Duration;

    /// Rule: `--plot` writes well-formed SVG holding both worlds: the staleness points of each and
    /// a line of room in use per world and panel, with their legends.
    #[test]
    fn a_short_storm_plots_as_well_formed_svg() {
        let source = Source::Synthetic(Synthetic { keys: 300, changes: 25, deploys: 4 });
        let shape = Shape {
            every: 0,
            within: Some(60),
            poisson: None,
            upload_rate: 50,
            hours: 1.0,
            span: Span { min: 30, max: 90 },
            others: vec!["120:/other/*".parse().unwrap()],
            hold: 0,
        };
        let (storm, _) = source.storm(&shape, 2);
        let q = Queueing { batch_size: 1000, window: 60, max_concurrency: Some(2), visibility: 240, max_receives: 31 };
        let rules = Rules {
            api_latency: Duration::from_millis(100),
            function_timeout: Duration::from_secs(30),
            cold_every: Duration::from_secs(900),
            serial: false,
            trace: false,
        };
        let function = world::simulate(&storm, Function::Ours, q, rules).made;
        let (_, reference) = crate::reference::row(&storm, q.window);
        let path = std::env::temp_dir().join(format!("storm-plot-{}.svg", std::process::id()));
        draw(&path, &storm, &function, reference.as_deref()).expect("drawn");
        let text = std::fs::read_to_string(&path).expect("written");
        std::fs::remove_file(&path).ok();
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let count = |tag: &str| doc.descendants().filter(|n| n.tag_name().name() == tag).count();
        let uploads: BTreeSet<u64> = storm.uploads.iter().map(|u| u.arrival).collect();
        assert!(count("circle") >= 2 * uploads.len().min(10), "{} circles", count("circle"));
        assert!(count("polyline") >= 6, "a line per world and panel: {}", count("polyline"));
        let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
        for label in [
            "function",
            "reference (windowed)",
            "upload time (min)",
            "staleness (min)",
            "not yet fresh",
            "wildcards in progress",
        ] {
            assert!(texts.iter().any(|t| t.contains(label)), "{label:?} in {texts:?}");
        }
    }
}
