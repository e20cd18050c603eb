//! The status matrix as a table: a row per service, a column per environment in
//! delivery order, each cell the running version, its short sha and how far it lags
//! the environment before it.

use rodeo_domain::{DriftState, StatusCell, StatusMatrix};

use super::table;

const LEGEND: &str = "+N: commits the previous environment runs that this one does not \
(+N? the commit graph is incomplete, ?: cannot tell)";

pub fn status_matrix(m: &StatusMatrix) -> String {
    let mut headers = vec!["SERVICE", "TEAM"];
    headers.extend(m.environments.iter().map(|e| e.name.as_str()));
    let mut lagging = false;
    let rows: Vec<Vec<String>> = m
        .services
        .iter()
        .map(|row| {
            let mut cells = vec![
                row.service.to_string(),
                row.team.as_ref().map_or("-", |t| t.as_str()).to_owned(),
            ];
            cells.extend(m.environments.iter().map(|env| {
                let cell = row.environments.iter().find(|c| c.environment == env.name);
                let (text, lags) = cell.map_or(("-".to_owned(), false), render_cell);
                lagging |= lags;
                text
            }));
            cells
        })
        .collect();
    let mut out = table(&headers, &rows);
    if lagging {
        out.push_str("\n\n");
        out.push_str(LEGEND);
    }
    out
}

/// The cell text, and whether it shows a drift marker.
fn render_cell(c: &StatusCell) -> (String, bool) {
    let Some(d) = &c.deployment else {
        return ("-".to_owned(), false);
    };
    let mut text = format!("{} {}", d.version, d.commit_sha.short());
    let marker = c.drift.as_ref().and_then(|drift| match drift.state {
        DriftState::InSync => None,
        DriftState::UndeployedChanges => Some(match drift.undeployed_commits {
            Some(n) if drift.complete => format!("+{n}"),
            Some(n) => format!("+{n}?"),
            None => "+?".to_owned(),
        }),
        DriftState::Unknown => Some("?".to_owned()),
    });
    let lags = marker.is_some();
    if let Some(m) = marker {
        text.push(' ');
        text.push_str(&m);
    }
    (text, lags)
}
