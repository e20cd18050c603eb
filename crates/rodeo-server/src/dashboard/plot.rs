//! Weekly charts and sparklines as SVG, laid out here and drawn by askama templates
//! (`templates/chart.svg`, `templates/spark.svg`), so every label is escaped like the
//! rest of the page.
//!
//! A small module of our own rather than a plotting crate: plotters' SVG backend writes
//! inline styles (refused by the dashboard's Content-Security-Policy) and no accessible
//! titles, and the dashboard needs only bars, lines, sparklines and event markers on a
//! time axis — about the size of this file.

use askama::Template;
use rodeo_domain::Timestamp;

use super::format::{percent, seconds};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Unit {
    Count,
    Seconds,
    /// 0..=1, shown as a percentage.
    Ratio,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Style {
    Bars,
    Line,
    DashedLine,
}

pub(crate) struct Series {
    pub(crate) label: String,
    pub(crate) style: Style,
    /// One per bucket; `None` is no data (a gap, no bar).
    pub(crate) values: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum MarkerKind {
    Deployment,
    FailedDeployment,
    Rollback,
    Incident,
}

#[derive(Debug, Clone)]
pub(crate) struct Marker {
    pub(crate) at: Timestamp,
    pub(crate) kind: MarkerKind,
    pub(crate) label: String,
    /// A dashboard path; anything not starting with `/` is dropped.
    pub(crate) href: Option<String>,
}

pub(crate) struct Chart {
    pub(crate) title: String,
    pub(crate) unit: Unit,
    /// Consecutive windows, usually weeks.
    pub(crate) buckets: Vec<(Timestamp, Timestamp)>,
    pub(crate) series: Vec<Series>,
    pub(crate) markers: Vec<Marker>,
}

const LEFT: f64 = 58.0;
const RIGHT: f64 = 628.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 198.0;

pub(crate) struct Tick {
    pub(crate) pos: f64,
    pub(crate) label: String,
}

pub(crate) struct Bar {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) w: f64,
    pub(crate) h: f64,
    pub(crate) class: String,
    pub(crate) title: String,
}

pub(crate) struct Line {
    /// `x,y x,y …`: numbers only.
    pub(crate) points: String,
    pub(crate) class: String,
}

pub(crate) struct Dot {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) class: String,
    pub(crate) title: String,
}

pub(crate) struct Mark {
    pub(crate) x: f64,
    /// The polygon's points: a triangle at the axis or a diamond at the top.
    pub(crate) shape: String,
    pub(crate) class: &'static str,
    pub(crate) title: String,
    pub(crate) href: Option<String>,
}

pub(crate) struct Legend {
    pub(crate) x: f64,
    pub(crate) class: String,
    pub(crate) label: String,
}

#[derive(Template)]
#[template(path = "chart.svg")]
struct ChartSvg {
    id: String,
    title: String,
    desc: String,
    unit: &'static str,
    empty: bool,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    y_ticks: Vec<Tick>,
    x_ticks: Vec<Tick>,
    bars: Vec<Bar>,
    lines: Vec<Line>,
    dots: Vec<Dot>,
    marks: Vec<Mark>,
    legend: Vec<Legend>,
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// A value in the chart's unit, for titles and axis labels.
pub(crate) fn show(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Count if v.fract() == 0.0 => format!("{v:.0}"),
        Unit::Count => format!("{v:.1}"),
        Unit::Seconds => seconds(v),
        Unit::Ratio => percent(v),
    }
}

/// The top of the y axis and the step between gridlines: a round number above `max`.
pub(crate) fn axis(unit: Unit, max: f64) -> (f64, f64) {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let step = match unit {
        Unit::Seconds => {
            const STEPS: [f64; 14] = [
                15.0,
                60.0,
                300.0,
                900.0,
                1800.0,
                3600.0,
                7200.0,
                21_600.0,
                43_200.0,
                86_400.0,
                172_800.0,
                604_800.0,
                1_209_600.0,
                2_592_000.0,
            ];
            STEPS
                .into_iter()
                .find(|s| max / s <= 4.0)
                .unwrap_or_else(|| (max / 4.0 / 2_592_000.0).ceil() * 2_592_000.0)
        }
        Unit::Ratio => [0.01, 0.02, 0.05, 0.1, 0.25]
            .into_iter()
            .find(|s| max / s <= 4.0)
            .unwrap_or(0.25),
        Unit::Count => {
            let raw = (max / 4.0).max(1.0);
            let mag = 10f64.powf(raw.log10().floor());
            [1.0, 2.0, 5.0, 10.0]
                .into_iter()
                .map(|m| m * mag)
                .find(|s| *s >= raw)
                .unwrap_or(10.0 * mag)
        }
    };
    // Rounded so that 3 × 0.05 is 0.15, not 0.15000000000000002.
    let top = ((max / step).ceil() * step * 1e9).round() / 1e9;
    let top = if unit == Unit::Ratio {
        top.min(1.0)
    } else {
        top
    };
    (top, step)
}

fn class(style: Style, n: usize) -> String {
    match style {
        Style::Bars => format!("bar s{n}"),
        Style::Line => format!("line s{n}"),
        Style::DashedLine => format!("line dashed s{n}"),
    }
}

/// A valid, stable element id for a title.
fn id_of(title: &str) -> String {
    let slug: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("chart-{}", slug.trim_matches('-'))
}

fn day(t: Timestamp) -> String {
    t.format("%b %-d").to_string()
}

/// Where `t` falls on the x axis, if inside a bucket.
fn x_of(buckets: &[(Timestamp, Timestamp)], t: Timestamp) -> Option<f64> {
    let slot = (RIGHT - LEFT) / buckets.len() as f64;
    buckets
        .iter()
        .position(|(from, to)| t >= *from && t < *to)
        .map(|i| {
            let (from, to) = buckets[i];
            let span = (to - from).num_seconds().max(1) as f64;
            let frac = (t - from).num_seconds() as f64 / span;
            round(LEFT + (i as f64 + frac) * slot)
        })
}

fn describe(chart: &Chart) -> String {
    let (Some(first), Some(last)) = (chart.buckets.first(), chart.buckets.last()) else {
        return format!("{}: no data.", chart.title);
    };
    let mut out = format!(
        "{}, {} weeks from {} to {}",
        chart.title,
        chart.buckets.len(),
        first.0.format("%Y-%m-%d"),
        last.1.format("%Y-%m-%d")
    );
    for s in &chart.series {
        let known: Vec<f64> = s.values.iter().flatten().copied().collect();
        let (Some(latest), Some(hi), Some(lo)) = (
            s.values.iter().rev().flatten().next(),
            known.iter().copied().reduce(f64::max),
            known.iter().copied().reduce(f64::min),
        ) else {
            out.push_str(&format!("; {}: no data", s.label));
            continue;
        };
        out.push_str(&format!(
            "; {}: latest {}, highest {}, lowest {}",
            s.label,
            show(chart.unit, *latest),
            show(chart.unit, hi),
            show(chart.unit, lo)
        ));
    }
    out.push_str(&format!(". {} events marked.", chart.markers.len()));
    out
}

/// The chart as an `<svg>` element.
pub(crate) fn render(chart: &Chart) -> String {
    let n = chart.buckets.len();
    let max = chart
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .copied()
        .fold(f64::NAN, f64::max);
    let empty = n == 0 || max.is_nan();
    let (top, step) = axis(chart.unit, if empty { 0.0 } else { max });
    let y = |v: f64| round(BOTTOM - v / top * (BOTTOM - TOP));
    let slot = if n == 0 {
        0.0
    } else {
        (RIGHT - LEFT) / n as f64
    };
    let week = |i: usize| format!("Week of {}", day(chart.buckets[i].0));

    let mut y_ticks = Vec::new();
    let mut v = 0.0;
    while v <= top + step / 1000.0 {
        y_ticks.push(Tick {
            pos: y(v),
            label: match chart.unit {
                Unit::Seconds => duration_label(v, top),
                unit => show(unit, v),
            },
        });
        v += step;
    }
    let every = n.div_ceil(7).max(1);
    let x_ticks = (0..n)
        .step_by(every)
        .map(|i| Tick {
            pos: round(LEFT + i as f64 * slot),
            label: day(chart.buckets[i].0),
        })
        .collect();

    let bar_series: Vec<(usize, &Series)> = chart
        .series
        .iter()
        .enumerate()
        .filter(|(_, s)| s.style == Style::Bars)
        .collect();
    let width = slot * 0.7 / bar_series.len().max(1) as f64;
    let mut bars = Vec::new();
    for (j, (k, s)) in bar_series.iter().enumerate() {
        for (i, value) in s.values.iter().enumerate().take(n) {
            let Some(v) = value else { continue };
            let x = LEFT + i as f64 * slot + slot * 0.15 + j as f64 * width;
            bars.push(Bar {
                x: round(x),
                y: y(*v),
                w: round(width),
                h: round(BOTTOM - y(*v)),
                class: class(Style::Bars, *k),
                title: format!("{}: {} {}", week(i), show(chart.unit, *v), s.label),
            });
        }
    }

    let (mut lines, mut dots) = (Vec::new(), Vec::new());
    for (k, s) in chart
        .series
        .iter()
        .enumerate()
        .filter(|(_, s)| s.style != Style::Bars)
    {
        let mut run: Vec<String> = Vec::new();
        for (i, value) in s.values.iter().enumerate().take(n) {
            match value {
                Some(v) => {
                    let x = round(LEFT + (i as f64 + 0.5) * slot);
                    run.push(format!("{x},{}", y(*v)));
                    dots.push(Dot {
                        x,
                        y: y(*v),
                        class: format!("point s{k}"),
                        title: format!("{}: {} {}", week(i), show(chart.unit, *v), s.label),
                    });
                }
                None => flush(&mut run, &mut lines, class(s.style, k)),
            }
        }
        flush(&mut run, &mut lines, class(s.style, k));
    }

    let marks = if n == 0 {
        Vec::new()
    } else {
        chart
            .markers
            .iter()
            .filter_map(|m| {
                let x = x_of(&chart.buckets, m.at)?;
                let (shape, class) = match m.kind {
                    MarkerKind::Deployment => (below(x, true), "marker deployment"),
                    MarkerKind::FailedDeployment => (below(x, true), "marker failed"),
                    MarkerKind::Rollback => (below(x, false), "marker rollback"),
                    MarkerKind::Incident => (
                        format!(
                            "{x},{} {},{TOP} {x},{} {},{TOP}",
                            TOP - 7.0,
                            x + 5.0,
                            TOP + 7.0,
                            x - 5.0
                        ),
                        "marker incident",
                    ),
                };
                Some(Mark {
                    x,
                    shape,
                    class,
                    title: m.label.clone(),
                    href: m.href.clone().filter(|h| local(h)),
                })
            })
            .collect()
    };
    let legend = if chart.series.len() > 1 {
        chart
            .series
            .iter()
            .enumerate()
            .map(|(k, s)| Legend {
                x: RIGHT - 110.0 * (chart.series.len() - k) as f64,
                class: class(s.style, k),
                label: s.label.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let svg = ChartSvg {
        id: id_of(&chart.title),
        title: chart.title.clone(),
        desc: describe(chart),
        unit: match chart.unit {
            Unit::Count => "count",
            Unit::Seconds => "duration",
            Unit::Ratio => "percent",
        },
        empty,
        left: LEFT,
        right: RIGHT,
        top: TOP,
        bottom: BOTTOM,
        y_ticks: if empty { Vec::new() } else { y_ticks },
        x_ticks,
        bars,
        lines,
        dots,
        marks,
        legend,
    };
    svg.render().unwrap_or_default()
}

/// A path on this site: browsers read `//host`, `/\\host` and paths with tabs or
/// newlines (which they strip) as other sites.
fn local(href: &str) -> bool {
    href.starts_with('/')
        && !href.starts_with("//")
        && !href.contains('\\')
        && !href.chars().any(char::is_control)
}

/// Labels of a duration axis, all in the unit its top needs ("0, 30m, 60m, 90m").
fn duration_label(v: f64, top: f64) -> String {
    let (div, unit) = match top {
        t if t < 90.0 => (1.0, "s"),
        t if t < 90.0 * 60.0 => (60.0, "m"),
        t if t < 36.0 * 3600.0 => (3600.0, "h"),
        _ => (86_400.0, "d"),
    };
    let n = v / div;
    if n.fract().abs() < 1e-9 {
        format!("{n:.0}{unit}")
    } else {
        format!("{n:.1}{unit}")
    }
}

/// A triangle standing on the x axis (pointing up) or hanging below it (pointing down).
fn below(x: f64, up: bool) -> String {
    let (tip, base) = if up {
        (BOTTOM + 1.0, BOTTOM + 9.0)
    } else {
        (BOTTOM + 9.0, BOTTOM + 1.0)
    };
    format!("{x},{tip} {},{base} {},{base}", x - 5.0, x + 5.0)
}

fn flush(run: &mut Vec<String>, lines: &mut Vec<Line>, class: String) {
    if run.len() > 1 {
        lines.push(Line {
            points: run.join(" "),
            class,
        });
    }
    run.clear();
}

#[derive(Template)]
#[template(path = "spark.svg")]
struct Spark {
    label: String,
    lines: Vec<String>,
    last: Option<(f64, f64)>,
}

/// A 120×32 line of the values, the last one marked; `None` values break the line.
pub(crate) fn sparkline(values: &[Option<f64>], label: &str, unit: Unit) -> String {
    let known: Vec<f64> = values.iter().flatten().copied().collect();
    let hi = known.iter().copied().fold(0.0, f64::max);
    let n = values.len().max(2) as f64;
    let at = |i: usize, v: f64| {
        let y = if hi > 0.0 { 29.0 - v / hi * 26.0 } else { 29.0 };
        (round(2.0 + i as f64 * 116.0 / (n - 1.0)), round(y))
    };
    let mut lines = Vec::new();
    let mut run = Vec::new();
    let mut last = None;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let (x, y) = at(i, *v);
                run.push(format!("{x},{y}"));
                last = Some((x, y));
            }
            None if run.len() > 1 => lines.push(std::mem::take(&mut run).join(" ")),
            None => run.clear(),
        }
    }
    if run.len() > 1 {
        lines.push(run.join(" "));
    }
    let label = match (known.first(), known.last()) {
        (Some(a), Some(b)) => format!("{label}: from {} to {}", show(unit, *a), show(unit, *b)),
        _ => format!("{label}: no data"),
    };
    Spark { label, lines, last }.render().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(s: &str) -> Timestamp {
        rodeo_domain::parse_timestamp("t", s).unwrap()
    }

    fn weeks(n: usize) -> Vec<(Timestamp, Timestamp)> {
        let start = t("2026-09-07T00:00:00Z");
        (0..n)
            .map(|i| {
                let from = start + chrono::Duration::weeks(i as i64);
                (from, from + chrono::Duration::weeks(1))
            })
            .collect()
    }

    fn chart(values: Vec<Option<f64>>, style: Style, markers: Vec<Marker>) -> Chart {
        Chart {
            title: "Deployments <per> week".into(),
            unit: Unit::Count,
            buckets: weeks(values.len()),
            series: vec![Series {
                label: "deploys".into(),
                style,
                values,
            }],
            markers,
        }
    }

    #[test]
    fn axes_end_on_round_numbers_in_the_unit() {
        assert_eq!(axis(Unit::Count, 13.0), (15.0, 5.0));
        assert_eq!(axis(Unit::Count, 3.0), (3.0, 1.0));
        assert_eq!(axis(Unit::Count, 140.0), (150.0, 50.0));
        assert_eq!(axis(Unit::Seconds, 5000.0), (5400.0, 1800.0));
        assert_eq!(axis(Unit::Seconds, 3.0 * 86_400.0), (259_200.0, 86_400.0));
        assert_eq!(axis(Unit::Ratio, 0.13), (0.15, 0.05));
        assert_eq!(axis(Unit::Ratio, 0.9), (1.0, 0.25));
        assert_eq!(axis(Unit::Count, 0.0), (1.0, 1.0));
    }

    #[test]
    fn labels_and_links_are_escaped_or_dropped() {
        let markers = vec![
            Marker {
                at: t("2026-09-08T12:00:00Z"),
                kind: MarkerKind::Incident,
                label: "<script>alert(1)</script>".into(),
                href: Some("javascript:alert(1)".into()),
            },
            Marker {
                at: t("2026-09-09T12:00:00Z"),
                kind: MarkerKind::Deployment,
                label: "v1".into(),
                href: Some("/deployments/7".into()),
            },
        ];
        let svg = render(&chart(vec![Some(3.0), Some(5.0)], Style::Bars, markers));
        assert!(
            !svg.contains("<script>") && svg.contains("&#60;script&#62;"),
            "{svg}"
        );
        assert!(!svg.contains("javascript:") && svg.contains("href=\"/deployments/7\""));
        assert!(svg.contains("&#60;per&#62;"), "the title too: {svg}");
        assert!(!svg.contains("style="), "no inline styles under the CSP");
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("</svg>").count(), 1);
        assert!(svg.contains("role=\"img\"") && svg.contains("<desc"));
    }

    #[test]
    fn only_paths_on_this_site_become_links() {
        assert!(local("/deployments/7"));
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "https://x",
            "javascript:x",
        ] {
            assert!(!local(bad), "{bad}");
        }
    }

    #[test]
    fn a_duration_axis_keeps_one_unit() {
        let labels: Vec<String> = [0.0, 1800.0, 3600.0, 5400.0]
            .iter()
            .map(|v| duration_label(*v, 5400.0))
            .collect();
        assert_eq!(labels, ["0h", "0.5h", "1h", "1.5h"]);
    }

    #[test]
    fn markers_land_inside_their_week_and_outside_ones_are_dropped() {
        let b = weeks(2);
        let x = x_of(&b, t("2026-09-10T12:00:00Z")).unwrap();
        let slot = (RIGHT - LEFT) / 2.0;
        assert!(x > LEFT && x < LEFT + slot, "{x}");
        assert!(x_of(&b, t("2026-10-10T12:00:00Z")).is_none());
        assert!(x_of(&b, t("2026-09-01T12:00:00Z")).is_none());
    }

    #[test]
    fn gaps_break_lines() {
        let svg = render(&chart(
            vec![Some(1.0), Some(2.0), None, Some(4.0), Some(3.0)],
            Style::Line,
            vec![],
        ));
        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert_eq!(svg.matches("<circle").count(), 4);
    }

    #[test]
    fn no_data_says_so() {
        let svg = render(&chart(vec![None, None], Style::Bars, vec![]));
        assert!(svg.contains("No data in this period"));
        let svg = sparkline(&[None, None], "Lead time", Unit::Seconds);
        assert!(svg.contains("Lead time: no data"));
        let svg = sparkline(
            &[Some(60.0), None, Some(120.0), Some(180.0)],
            "Lead time",
            Unit::Seconds,
        );
        assert!(svg.contains("from 60s to 3m"), "{svg}");
        assert_eq!(svg.matches("<polyline").count(), 1);
    }
}
