//! Server-side SVG charts for the dashboard: bars and lines over time buckets with
//! deployment and incident markers, and the sparklines on the DORA tiles.
//!
//! A small module of our own rather than a plotting crate: plotters' SVG backend writes
//! inline `style` attributes, which the dashboard's Content-Security-Policy blocks, and
//! no accessible `<title>`/`<desc>`; we need linked event markers, colours that follow
//! the light and dark themes through classes (see `assets/charts.css`), and only about
//! five shapes. The output goes into templates unescaped (`|safe`), so every text and
//! link is escaped or filtered here.

use std::fmt::{self, Write};

use rodeo_domain::Timestamp;

/// How a chart's values read on the y axis and in titles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Count,
    Seconds,
    /// 0..=1, shown as a percentage.
    Ratio,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Bars,
    Line,
    DashedLine,
}

#[derive(Clone, Debug)]
pub(crate) struct Series {
    pub(crate) label: String,
    pub(crate) style: Style,
    /// One value per bucket; `None` is no data: a gap in a line, no bar.
    pub(crate) values: Vec<Option<f64>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MarkerKind {
    Deployment,
    Rollback,
    FailedDeployment,
    Incident,
}

#[derive(Clone, Debug)]
pub(crate) struct Marker {
    pub(crate) at: Timestamp,
    pub(crate) kind: MarkerKind,
    pub(crate) label: String,
    /// A same-site path such as `/deployments/12`; anything else is dropped.
    pub(crate) href: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct Chart {
    pub(crate) title: String,
    pub(crate) unit: Unit,
    /// Consecutive `(from, to)` windows, oldest first.
    pub(crate) buckets: Vec<(Timestamp, Timestamp)>,
    pub(crate) series: Vec<Series>,
    pub(crate) markers: Vec<Marker>,
}

// The plot area inside the 640×240 view box; the margins hold labels and the legend.
const LEFT: f64 = 44.0;
const RIGHT: f64 = 630.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 210.0;
const MAX_TICK_LABELS: usize = 7;

/// The chart as one `<svg>` element, safe to embed as is.
pub(crate) fn render(chart: &Chart) -> String {
    let mut out = String::with_capacity(4096 + 200 * chart.markers.len());
    // Writing into a String cannot fail.
    let _ = write_chart(&mut out, chart);
    out
}

/// A tile-sized line of `values` (no axes), labelled for screen readers.
pub(crate) fn sparkline(values: &[Option<f64>], label: &str) -> String {
    let mut out = String::with_capacity(512);
    let _ = write_sparkline(&mut out, values, label);
    out
}

/// A duration at a glance: "45s", "12m", "3.5h", "2.1d"; "—" for negative or NaN.
pub(crate) fn format_seconds(s: f64) -> String {
    if s.is_nan() || s.is_infinite() || s < 0.0 {
        return "—".to_owned();
    }
    if s < 90.0 {
        format!("{:.0}s", s.abs())
    } else if s < 90.0 * 60.0 {
        format!("{:.0}m", s / 60.0)
    } else if s < 36.0 * 3600.0 {
        format!("{}h", one_decimal(s / 3600.0))
    } else {
        format!("{}d", one_decimal(s / 86_400.0))
    }
}

fn one_decimal(v: f64) -> String {
    let s = format!("{v:.1}");
    match s.strip_suffix(".0") {
        Some(whole) => whole.to_owned(),
        None => s,
    }
}

fn write_chart(out: &mut String, c: &Chart) -> fmt::Result {
    let n = c.buckets.len();
    let values: Vec<Vec<Option<f64>>> = c.series.iter().map(|s| clean(&s.values, n)).collect();
    let max = values.iter().flatten().flatten().copied().reduce(f64::max);
    let period = Period::of(&c.buckets);
    let markers: Vec<(f64, &Marker)> = c
        .markers
        .iter()
        .filter_map(|m| Some((marker_x(&c.buckets, m.at)?, m)))
        .collect();

    let id = chart_id(c);
    write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 640 240" class="chart" role="img" aria-labelledby="{id}-t" aria-describedby="{id}-d"><title id="{id}-t">{}</title><desc id="{id}-d">"#,
        Esc(&c.title)
    )?;
    let Some(max) = max.filter(|_| n > 0) else {
        write!(out, "{}: no data in this period.</desc>", Esc(&c.title))?;
        out.push_str(r#"<text class="empty" x="320" y="124" text-anchor="middle">No data in this period</text></svg>"#);
        return Ok(());
    };
    describe(out, c, &values, period, &markers)?;
    out.push_str("</desc>\n");

    let (top, step) = scale(c.unit, max);
    let plot = Plot {
        top,
        slot: (RIGHT - LEFT) / n as f64,
    };
    axes(out, c, &plot, step)?;
    bars(out, c, &values, period, &plot)?;
    lines(out, c, &values, period, &plot)?;
    for (x, m) in &markers {
        marker(out, *x, m)?;
    }
    legend(out, &c.series)?;
    out.push_str("</svg>");
    Ok(())
}

struct Plot {
    top: f64,
    slot: f64,
}

impl Plot {
    fn centre(&self, i: usize) -> f64 {
        LEFT + (i as f64 + 0.5) * self.slot
    }

    fn y(&self, v: f64) -> f64 {
        BOTTOM - v.clamp(0.0, self.top) / self.top * (BOTTOM - TOP)
    }
}

/// One value per bucket: extra values dropped, missing and non-finite ones `None`.
fn clean(values: &[Option<f64>], n: usize) -> Vec<Option<f64>> {
    (0..n)
        .map(|i| values.get(i).copied().flatten().filter(|v| v.is_finite()))
        .collect()
}

/// What a bucket is called in words, from the length of the first one.
#[derive(Clone, Copy)]
enum Period {
    Week,
    Day,
    Other,
}

impl Period {
    fn of(buckets: &[(Timestamp, Timestamp)]) -> Self {
        match buckets.first().map(|(from, to)| (*to - *from).num_hours()) {
            Some(144..=192) => Period::Week,
            Some(20..=28) => Period::Day,
            _ => Period::Other,
        }
    }

    fn noun(self, n: usize) -> &'static str {
        match (self, n == 1) {
            (Period::Week, true) => "week",
            (Period::Week, false) => "weeks",
            (Period::Day, true) => "day",
            (Period::Day, false) => "days",
            (Period::Other, true) => "period",
            (Period::Other, false) => "periods",
        }
    }

    fn name(self, from: Timestamp) -> String {
        let day = from.format("%b %-d");
        match self {
            Period::Week => format!("Week of {day}"),
            Period::Day => day.to_string(),
            Period::Other => format!("From {day}"),
        }
    }
}

/// The `<desc>`: the span, then latest, highest and lowest of each series, then markers.
fn describe(
    out: &mut String,
    c: &Chart,
    values: &[Vec<Option<f64>>],
    period: Period,
    markers: &[(f64, &Marker)],
) -> fmt::Result {
    let n = c.buckets.len();
    if let (Some((first, _)), Some((_, last))) = (c.buckets.first(), c.buckets.last()) {
        write!(
            out,
            "{}, {n} {} from {} to {}: ",
            Esc(&c.title),
            period.noun(n),
            first.format("%Y-%m-%d"),
            last.format("%Y-%m-%d")
        )?;
    }
    for (i, (s, vals)) in c.series.iter().zip(values).enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        if c.series.len() > 1 {
            write!(out, "{} ", Esc(&s.label))?;
        }
        let present = || vals.iter().flatten().copied();
        match (
            present().last(),
            present().reduce(f64::max),
            present().reduce(f64::min),
        ) {
            (Some(latest), Some(hi), Some(lo)) => write!(
                out,
                "latest {}, highest {}, lowest {}",
                value(c.unit, latest),
                value(c.unit, hi),
                value(c.unit, lo)
            )?,
            _ => out.push_str("no data"),
        }
    }
    out.push('.');
    let kinds = [
        (MarkerKind::Deployment, "deployment"),
        (MarkerKind::FailedDeployment, "failed deployment"),
        (MarkerKind::Rollback, "rollback"),
        (MarkerKind::Incident, "incident"),
    ];
    let mut sep = " Marked: ";
    for (kind, noun) in kinds {
        let count = markers.iter().filter(|(_, m)| m.kind == kind).count();
        if count > 0 {
            let s = if count == 1 { "" } else { "s" };
            write!(out, "{sep}{count} {noun}{s}")?;
            sep = ", ";
        }
    }
    if sep == ", " {
        out.push('.');
    }
    Ok(())
}

/// A value as the unit reads: "14", "3.5h", "12%".
fn value(unit: Unit, v: f64) -> String {
    match unit {
        Unit::Count if v.fract() == 0.0 => format!("{v:.0}"),
        Unit::Count => one_decimal(v),
        Unit::Seconds => format_seconds(v),
        Unit::Ratio if v < 0.1 => format!("{}%", one_decimal(v * 100.0)),
        Unit::Ratio => format!("{:.0}%", v * 100.0),
    }
}

/// The y axis: a "nice" top at or above `max` and the step between its 3–5 gridlines.
fn scale(unit: Unit, max: f64) -> (f64, f64) {
    let max = match unit {
        Unit::Ratio => max.clamp(0.0, 1.0),
        _ => max.max(0.0),
    };
    let steps = nice_steps(unit);
    let step = steps
        .iter()
        .copied()
        .find(|s| max / s <= 4.0)
        .unwrap_or_else(|| max / 4.0);
    let top = step * (max / step).ceil().max(2.0);
    match unit {
        Unit::Ratio => (top.min(1.0), step),
        _ => (top, step),
    }
}

fn nice_steps(unit: Unit) -> Vec<f64> {
    const MINUTE: f64 = 60.0;
    const HOUR: f64 = 3600.0;
    const DAY: f64 = 86_400.0;
    let decades =
        |base: f64| (0..16).flat_map(move |k| [1.0, 2.0, 5.0].map(|m| base * m * 10f64.powi(k)));
    match unit {
        Unit::Count => decades(1.0).collect(),
        Unit::Ratio => vec![0.01, 0.02, 0.05, 0.1, 0.25],
        Unit::Seconds => [1.0, 2.0, 5.0, 10.0, 15.0, 30.0]
            .into_iter()
            .chain([1.0, 2.0, 5.0, 10.0, 15.0, 30.0].map(|m| m * MINUTE))
            .chain([1.0, 2.0, 3.0, 6.0, 12.0].map(|h| h * HOUR))
            .chain([1.0, 2.0].map(|d| d * DAY))
            .chain(decades(7.0 * DAY))
            .collect(),
    }
}

/// A y-axis label. Durations keep the step's unit ("0", "30m", "60m", "90m") so the
/// labels of one axis read alike, which `format_seconds` would not.
fn axis_label(unit: Unit, v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".to_owned();
    }
    match unit {
        Unit::Count => format!("{v:.0}"),
        Unit::Ratio => format!("{:.0}%", v * 100.0),
        Unit::Seconds => {
            let (size, suffix) = match step {
                s if s < 60.0 => (1.0, "s"),
                s if s < 3600.0 => (60.0, "m"),
                s if s < 86_400.0 => (3600.0, "h"),
                _ => (86_400.0, "d"),
            };
            format!("{:.0}{suffix}", v / size)
        }
    }
}

fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::Count => "count",
        Unit::Seconds => "duration",
        Unit::Ratio => "percent",
    }
}

fn axes(out: &mut String, c: &Chart, plot: &Plot, step: f64) -> fmt::Result {
    let lines = (plot.top / step).round() as usize;
    out.push_str(r#"<g class="grid">"#);
    for k in 1..=lines {
        let y = plot.y(step * k as f64);
        write!(
            out,
            r#"<line x1="{LEFT}" y1="{y:.1}" x2="{RIGHT}" y2="{y:.1}"/>"#
        )?;
    }
    out.push_str("</g>\n<g class=\"axis\">");
    write!(
        out,
        r#"<text class="unit" x="4" y="14">{}</text><line x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}"/>"#,
        unit_name(c.unit)
    )?;
    for k in 0..=lines {
        let v = (step * k as f64).min(plot.top);
        write!(
            out,
            r#"<text class="tick" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            LEFT - 6.0,
            plot.y(v) + 4.0,
            axis_label(c.unit, v, step)
        )?;
    }
    let every = c.buckets.len().div_ceil(MAX_TICK_LABELS);
    for (i, (from, _)) in c.buckets.iter().enumerate().step_by(every.max(1)) {
        let x = LEFT + i as f64 * plot.slot;
        write!(
            out,
            r#"<line x1="{x:.1}" y1="{BOTTOM}" x2="{x:.1}" y2="{}"/><text class="tick" x="{x:.1}" y="{}" text-anchor="middle">{}</text>"#,
            BOTTOM + 4.0,
            BOTTOM + 16.0,
            from.format("%b %-d")
        )?;
    }
    out.push_str("</g>\n");
    Ok(())
}

/// "Week of Sep 7: 14", or "Week of Sep 7, p90: 5h" when there are several series.
fn point_title(c: &Chart, period: Period, i: usize, s: &Series, v: f64) -> String {
    let when = c
        .buckets
        .get(i)
        .map_or_else(String::new, |(from, _)| period.name(*from));
    if c.series.len() > 1 {
        format!("{when}, {}: {}", Esc(&s.label), value(c.unit, v))
    } else {
        format!("{when}: {}", value(c.unit, v))
    }
}

fn bars(
    out: &mut String,
    c: &Chart,
    values: &[Vec<Option<f64>>],
    period: Period,
    plot: &Plot,
) -> fmt::Result {
    let grouped: Vec<usize> = (0..c.series.len())
        .filter(|&i| c.series[i].style == Style::Bars)
        .collect();
    let group = plot.slot * 0.7;
    let width = group / grouped.len().max(1) as f64;
    for (j, &si) in grouped.iter().enumerate() {
        for (i, v) in values[si].iter().enumerate() {
            let Some(v) = *v else { continue };
            let x = LEFT + i as f64 * plot.slot + (plot.slot - group) / 2.0 + j as f64 * width;
            let y = plot.y(v);
            writeln!(
                out,
                r#"<rect class="bar s{}" x="{x:.1}" y="{y:.1}" width="{width:.1}" height="{:.1}"><title>{}</title></rect>"#,
                si % 3,
                BOTTOM - y,
                point_title(c, period, i, &c.series[si], v)
            )?;
        }
    }
    Ok(())
}

/// Lines break at `None`: one polyline per run of values, a dot at every point.
fn lines(
    out: &mut String,
    c: &Chart,
    values: &[Vec<Option<f64>>],
    period: Period,
    plot: &Plot,
) -> fmt::Result {
    for (si, s) in c.series.iter().enumerate() {
        let dashed = match s.style {
            Style::Bars => continue,
            Style::Line => "",
            Style::DashedLine => " dashed",
        };
        let vals = &values[si];
        let mut i = 0;
        while i < vals.len() {
            let run = vals[i..].iter().take_while(|v| v.is_some()).count();
            if run >= 2 {
                write!(
                    out,
                    r#"<polyline class="line s{}{dashed}" points=""#,
                    si % 3
                )?;
                for (k, v) in vals[i..i + run].iter().flatten().enumerate() {
                    let sep = if k == 0 { "" } else { " " };
                    write!(out, "{sep}{:.1},{:.1}", plot.centre(i + k), plot.y(*v))?;
                }
                out.push_str("\"/>\n");
            }
            i += run.max(1);
        }
        for (i, v) in vals.iter().enumerate() {
            let Some(v) = *v else { continue };
            writeln!(
                out,
                r#"<circle class="point s{}" cx="{:.1}" cy="{:.1}" r="2.5"><title>{}</title></circle>"#,
                si % 3,
                plot.centre(i),
                plot.y(v),
                point_title(c, period, i, s, v)
            )?;
        }
    }
    Ok(())
}

/// Where `at` falls on the x axis, proportionally inside its bucket; `None` outside all.
fn marker_x(buckets: &[(Timestamp, Timestamp)], at: Timestamp) -> Option<f64> {
    let i = buckets
        .partition_point(|(from, _)| *from <= at)
        .checked_sub(1)?;
    let (from, to) = buckets.get(i)?;
    if at >= *to {
        return None;
    }
    let span = (*to - *from).num_milliseconds() as f64;
    let frac = (at - *from).num_milliseconds() as f64 / span;
    Some(LEFT + (i as f64 + frac) * (RIGHT - LEFT) / buckets.len() as f64)
}

/// A thin line across the plot and a shape: ▲ deployment, ▲ failed (dashed line),
/// ▼ rollback at the bottom; ◆ incident at the top. A link only for same-site paths.
fn marker(out: &mut String, x: f64, m: &Marker) -> fmt::Result {
    const UP: &[(f64, f64)] = &[(-4.0, 0.0), (4.0, 0.0), (0.0, -7.0)];
    const DOWN: &[(f64, f64)] = &[(-4.0, -7.0), (4.0, -7.0), (0.0, 0.0)];
    const DIAMOND: &[(f64, f64)] = &[(0.0, -5.0), (4.0, 0.0), (0.0, 5.0), (-4.0, 0.0)];
    let (class, points) = match m.kind {
        MarkerKind::Deployment => ("deployment", UP),
        MarkerKind::FailedDeployment => ("failed", UP),
        MarkerKind::Rollback => ("rollback", DOWN),
        MarkerKind::Incident => ("incident", DIAMOND),
    };
    let base = if m.kind == MarkerKind::Incident {
        TOP
    } else {
        BOTTOM
    };
    let href = m.href.as_deref().and_then(safe_href);
    match href {
        Some(href) => write!(out, r#"<a class="marker {class}" href="{}">"#, Esc(href))?,
        None => write!(out, r#"<g class="marker {class}">"#)?,
    }
    write!(
        out,
        r#"<title>{}</title><line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{BOTTOM}"/><polygon points=""#,
        Esc(&m.label)
    )?;
    for (k, (dx, dy)) in points.iter().enumerate() {
        let sep = if k == 0 { "" } else { " " };
        write!(out, "{sep}{:.1},{:.1}", x + dx, base + dy)?;
    }
    out.push_str(if href.is_some() {
        "\"/></a>\n"
    } else {
        "\"/></g>\n"
    });
    Ok(())
}

/// Only same-site paths: not `//host` or `/\host` (both leave the site), and no control
/// characters, which URL parsers strip (so `/\t/host` would become `//host`).
fn safe_href(href: &str) -> Option<&str> {
    let rest = href.strip_prefix('/')?;
    let leaves_site = rest.starts_with(['/', '\\']) || href.chars().any(char::is_control);
    (!leaves_site).then_some(href)
}

fn legend(out: &mut String, series: &[Series]) -> fmt::Result {
    if series.len() < 2 {
        return Ok(());
    }
    // Right-aligned in the top margin; text width estimated at 6.5 units a character.
    let width = |s: &Series| 30.0 + 6.5 * s.label.chars().count() as f64;
    let mut x = RIGHT - series.iter().map(width).sum::<f64>() + 12.0;
    out.push_str(r#"<g class="legend">"#);
    for (si, s) in series.iter().enumerate() {
        let class = si % 3;
        match s.style {
            Style::Bars => write!(
                out,
                r#"<rect class="bar s{class}" x="{x:.1}" y="6" width="12" height="8"/>"#
            )?,
            Style::Line | Style::DashedLine => {
                let dashed = if s.style == Style::DashedLine {
                    " dashed"
                } else {
                    ""
                };
                write!(
                    out,
                    r#"<line class="line s{class}{dashed}" x1="{x:.1}" y1="10" x2="{:.1}" y2="10"/>"#,
                    x + 14.0
                )?;
            }
        }
        write!(
            out,
            r#"<text x="{:.1}" y="14">{}</text>"#,
            x + 18.0,
            Esc(&s.label)
        )?;
        x += width(s);
    }
    out.push_str("</g>\n");
    Ok(())
}

/// A valid, stable id: `chart-` and the title's letters and digits, then a hash of the
/// chart so two charts with one title on a page still differ.
fn chart_id(c: &Chart) -> String {
    let mut slug = String::new();
    for ch in c.title.chars() {
        if ch.is_ascii_alphanumeric() {
            slug.push(ch.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
        if slug.len() >= 32 {
            break;
        }
    }
    let mut hash = Fnv::default();
    hash.write(c.title.as_bytes());
    for (from, to) in &c.buckets {
        hash.write(&from.timestamp().to_le_bytes());
        hash.write(&to.timestamp().to_le_bytes());
    }
    for s in &c.series {
        hash.write(s.label.as_bytes());
        for v in &s.values {
            hash.write(&v.map_or(u64::MAX, f64::to_bits).to_le_bytes());
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("chart-{:08x}", hash.0)
    } else {
        format!("chart-{slug}-{:08x}", hash.0)
    }
}

/// FNV-1a: stable across builds, unlike `std`'s hasher.
struct Fnv(u32);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0x811c_9dc5)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u32::from(*b)).wrapping_mul(0x0100_0193);
        }
    }
}

fn write_sparkline(out: &mut String, values: &[Option<f64>], label: &str) -> fmt::Result {
    const W: f64 = 120.0;
    const H: f64 = 32.0;
    const PAD: f64 = 3.0;
    let vals: Vec<Option<f64>> = values.iter().map(|v| v.filter(|x| x.is_finite())).collect();
    let present = || vals.iter().flatten().copied();
    let head = r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 32" width="120" height="32" class="spark" role="img""#;
    let (Some(first), Some(last)) = (present().next(), present().last()) else {
        write!(out, r#"{head} aria-label="{}: no data">"#, Esc(label))?;
        return write!(
            out,
            r#"<line class="empty" x1="{PAD}" y1="{}" x2="{}" y2="{}"/></svg>"#,
            H - PAD,
            W - PAD,
            H - PAD
        );
    };
    let trend = match last.partial_cmp(&first) {
        Some(std::cmp::Ordering::Greater) => "rising",
        Some(std::cmp::Ordering::Less) => "falling",
        _ => "unchanged",
    };
    write!(
        out,
        r#"{head} aria-label="{}: from {} to {}, {trend}">"#,
        Esc(label),
        plain(first),
        plain(last)
    )?;
    let lo = present().fold(0.0, f64::min);
    let hi = present().fold(lo, f64::max);
    let range = if hi - lo > f64::EPSILON { hi - lo } else { 1.0 };
    let step = (W - 2.0 * PAD) / vals.len().saturating_sub(1).max(1) as f64;
    let at = |i: usize, v: f64| {
        (
            PAD + i as f64 * step,
            H - PAD - (v - lo) / range * (H - 2.0 * PAD),
        )
    };
    let mut last_point = None;
    let mut i = 0;
    while i < vals.len() {
        let run = vals[i..].iter().take_while(|v| v.is_some()).count();
        if run == 1 {
            if let Some(v) = vals[i] {
                let (x, y) = at(i, v);
                write!(out, r#"<circle cx="{x:.1}" cy="{y:.1}" r="1.2"/>"#)?;
            }
        } else if run > 1 {
            out.push_str(r#"<polyline points=""#);
            for (k, v) in vals[i..i + run].iter().flatten().enumerate() {
                let (x, y) = at(i + k, *v);
                let sep = if k == 0 { "" } else { " " };
                write!(out, "{sep}{x:.1},{y:.1}")?;
            }
            out.push_str("\"/>");
        }
        if run > 0 {
            last_point = vals[i + run - 1].map(|v| at(i + run - 1, v));
        }
        i += run.max(1);
    }
    if let Some((x, y)) = last_point {
        write!(
            out,
            r#"<circle class="last" cx="{x:.1}" cy="{y:.1}" r="2.5"/>"#
        )?;
    }
    out.push_str("</svg>");
    Ok(())
}

/// A number without a unit, for the sparkline's label: "14", "0.25", "12600".
fn plain(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else if v.abs() < 10.0 {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        one_decimal(v)
    }
}

/// Text escaped for XML content and attribute values; C0 controls other than tab and
/// newlines are dropped since XML cannot carry them.
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for ch in self.0.chars() {
            match ch {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                '\t' | '\n' | '\r' => f.write_char(ch)?,
                c if c.is_control() => {}
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}
