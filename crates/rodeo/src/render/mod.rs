//! Text output for people: aligned tables and short descriptions of API responses.
//! Pure functions from domain values to strings, so the layout is tested.

mod incidents;
mod status;

use rodeo_domain::{
    Changes, Commit, Deployment, DeploymentDetail, Environment, Event, Service, Team, Timestamp,
    Token,
};

use crate::api::{Comparison, ComparisonEnd};

pub use incidents::{dora, duration, incident_detail, incident_line, incidents, what_changed};
pub use status::status_matrix;

/// Columns left-aligned, two spaces apart, trailing spaces trimmed.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (cell, w) in cells.zip(&widths) {
            out.push_str(cell);
            out.extend(std::iter::repeat_n(' ', w - cell.chars().count() + 2));
        }
        out.trim_end().to_owned()
    };
    let mut out = vec![line(&mut headers.iter().copied())];
    out.extend(rows.iter().map(|r| line(&mut r.iter().map(String::as_str))));
    out.join("\n")
}

/// Minutes are enough in tables; full RFC 3339 is in `show` and JSON.
pub fn short_time(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M").to_string()
}

fn opt(s: Option<&str>) -> String {
    s.unwrap_or("-").to_owned()
}

/// The first line of a commit message.
fn subject(message: &str) -> &str {
    message.lines().next().unwrap_or("")
}

pub fn deployments(items: &[Deployment]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|d| {
            vec![
                d.id.to_string(),
                d.service.to_string(),
                d.environment.to_string(),
                d.version.clone(),
                d.commit_sha.short().to_owned(),
                d.status.as_str().to_owned(),
                d.kind.as_str().to_owned(),
                short_time(d.finished_at.unwrap_or(d.started_at)),
                d.change_count.to_string(),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "SERVICE",
            "ENVIRONMENT",
            "VERSION",
            "SHA",
            "STATUS",
            "KIND",
            "AT",
            "CHANGES",
        ],
        &rows,
    )
}

/// One commit per line: short sha, date, author, subject.
pub fn commits(items: &[Commit]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|c| {
            vec![
                c.sha.short().to_owned(),
                c.committed_at.format("%Y-%m-%d").to_string(),
                c.author.clone(),
                subject(&c.message).to_owned(),
            ]
        })
        .collect();
    table(&["SHA", "DATE", "AUTHOR", "MESSAGE"], &rows)
}

pub fn deployment_detail(d: &DeploymentDetail) -> String {
    let dep = &d.deployment;
    let mut fields = vec![
        ("sha", dep.commit_sha.to_string()),
        (
            "status",
            format!("{} ({})", dep.status.as_str(), dep.kind.as_str()),
        ),
        ("started", rodeo_domain::format_timestamp(dep.started_at)),
        (
            "finished",
            dep.finished_at
                .map(rodeo_domain::format_timestamp)
                .unwrap_or_else(|| "-".into()),
        ),
        (
            "by",
            format!("{} ({})", dep.created_by, dep.source.as_str()),
        ),
    ];
    let optional = [
        ("url", dep.url.clone()),
        ("external id", dep.external_id.clone()),
        ("rollback of", dep.rollback_of.map(|i| i.to_string())),
        ("previous", dep.previous_id.map(|i| i.to_string())),
    ];
    fields.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    let mut out = format!(
        "deployment {}: {} {} to {}\n",
        dep.id, dep.service, dep.version, dep.environment
    );
    for (k, v) in fields {
        out.push_str(&format!("  {k:<12} {v}\n"));
    }
    let n = d.changes.len();
    out.push_str(&format!(
        "shipped {n} commit{}{}",
        if n == 1 { "" } else { "s" },
        if dep.changes_complete {
            ""
        } else {
            " (rodeo does not know the whole commit graph: there may be more)"
        }
    ));
    if n > 0 {
        out.push('\n');
        out.push_str(&commits(&d.changes));
    }
    out
}

/// One side of a comparison: `staging (1.4.2, 3f2a9c1)`.
fn comparison_end(e: &ComparisonEnd) -> String {
    let short = e.sha.short();
    match (e.by.as_str(), &e.version) {
        ("version", _) => format!("version {} ({short})", e.value),
        ("sha", Some(v)) => format!("{short} ({v})"),
        ("sha", None) => short.to_owned(),
        (_, Some(v)) => format!("{} ({v}, {short})", e.value),
        (_, None) => format!("{} ({short})", e.value),
    }
}

/// Both directions of a comparison with their commits.
pub fn comparison(c: &Comparison) -> String {
    let (from, to) = (comparison_end(&c.from), comparison_end(&c.to));
    let side = |label: String, changes: &Changes| {
        let n = changes.commits.len();
        let mut s = format!(
            "{n} commit{} {label}{}",
            if n == 1 { "" } else { "s" },
            if changes.complete {
                ""
            } else {
                " (the commit graph is incomplete: there may be more)"
            }
        );
        if n > 0 {
            s.push('\n');
            s.push_str(&commits(&changes.commits));
        }
        s
    };
    format!(
        "{}\n\n{}",
        side(format!("in {from} and not in {to}"), &c.ahead),
        side(format!("in {to} and not in {from}"), &c.behind)
    )
}

/// One line per event, as `events list` and `events tail` print them.
pub fn event_line(e: &Event) -> String {
    let scope = match (&e.service, &e.environment) {
        (Some(s), Some(env)) => format!("{s}/{env}"),
        (Some(s), None) => s.to_string(),
        (None, Some(env)) => format!("/{env}"),
        (None, None) => "-".to_owned(),
    };
    let mut line = format!(
        "{}  {}  {}  {} ({})",
        rodeo_domain::format_timestamp(e.at),
        e.kind,
        scope,
        e.actor,
        e.source.as_str()
    );
    if let Some(s) = &e.subject {
        line.push_str("  ");
        line.push_str(s);
    }
    line
}

pub fn services(items: &[Service]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|s| {
            vec![
                s.name.to_string(),
                opt(s.team.as_ref().map(|t| t.as_str())),
                opt(s.repository.as_deref()),
            ]
        })
        .collect();
    table(&["NAME", "TEAM", "REPOSITORY"], &rows)
}

pub fn environments(items: &[Environment]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|e| {
            vec![
                e.name.to_string(),
                e.order.to_string(),
                if e.production { "yes" } else { "no" }.to_owned(),
            ]
        })
        .collect();
    table(&["NAME", "ORDER", "PRODUCTION"], &rows)
}

pub fn teams(items: &[Team]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|t| vec![t.name.to_string(), opt(t.display_name.as_deref())])
        .collect();
    table(&["NAME", "DISPLAY NAME"], &rows)
}

pub fn tokens(items: &[Token]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                t.name.to_string(),
                t.scope.as_str().to_owned(),
                format!("{}…", t.prefix),
                short_time(t.created_at),
                t.revoked_at.map(short_time).unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(
        &["ID", "NAME", "SCOPE", "PREFIX", "CREATED", "REVOKED"],
        &rows,
    )
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
