//! Keyset-paginated lists, newest first: deployments and ledger events.

use rodeo_domain::{
    to_micros, Cursor, Deployment, Event, EventFilter, Page, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE,
};
use rodeo_store::{DeploymentFilter, StoreError};
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::rows::{self, DbResult, DEPLOYMENT_COLUMNS, EVENT_COLUMNS};

/// The page size asked for, within the API's bounds (0 means the default).
pub(super) fn page_size(limit: u32) -> u32 {
    match limit {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    }
}

/// Cuts the `limit + 1` rows fetched to a page, with a cursor when there is more.
pub(super) fn page<T>(mut items: Vec<T>, limit: u32, id: impl Fn(&T) -> i64) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|last| {
            Cursor {
                before_id: id(last),
            }
            .encode()
        })
    } else {
        None
    };
    Page { items, next_cursor }
}

/// Appends ` AND ` (or ` WHERE ` the first time) to a query being built.
pub(super) struct Conditions {
    pub(super) any: bool,
}

impl Conditions {
    pub(super) fn next<'a>(
        &mut self,
        q: &'a mut QueryBuilder<'static, Postgres>,
    ) -> &'a mut QueryBuilder<'static, Postgres> {
        q.push(if self.any { " AND " } else { " WHERE " });
        self.any = true;
        q
    }
}

pub(crate) async fn list_deployments(
    pool: &PgPool,
    filter: &DeploymentFilter,
) -> Result<Page<Deployment>, StoreError> {
    let limit = page_size(filter.limit);
    let mut q = QueryBuilder::new(format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments d"));
    let mut w = Conditions { any: false };
    if let Some(s) = &filter.service {
        w.next(&mut q)
            .push("d.service = ")
            .push_bind(s.as_str().to_owned());
    }
    if let Some(e) = &filter.environment {
        w.next(&mut q)
            .push("d.environment = ")
            .push_bind(e.as_str().to_owned());
    }
    if let Some(s) = filter.status {
        w.next(&mut q).push("d.status = ").push_bind(s.as_str());
    }
    if let Some(id) = filter.before_id {
        w.next(&mut q).push("d.id < ").push_bind(id);
    }
    q.push(" ORDER BY d.id DESC LIMIT ")
        .push_bind(i64::from(limit) + 1);
    let rows = q.build().fetch_all(pool).await.db()?;
    let items = rows
        .iter()
        .map(rows::deployment)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page(items, limit, |d| d.id))
}

/// The smallest string greater than every string starting with `prefix` (byte order,
/// which the `kind` column's "C" collation uses), or `None` when there is none.
fn prefix_end(prefix: &str) -> Option<String> {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8(bytes).ok();
        }
    }
    None
}

pub(crate) async fn list_events(
    pool: &PgPool,
    filter: &EventFilter,
) -> Result<Page<Event>, StoreError> {
    let limit = page_size(filter.limit);
    let mut q = QueryBuilder::new(format!("SELECT {EVENT_COLUMNS} FROM events"));
    let mut w = Conditions { any: false };
    if let Some(s) = &filter.service {
        w.next(&mut q)
            .push("service = ")
            .push_bind(s.as_str().to_owned());
    }
    if let Some(e) = &filter.environment {
        w.next(&mut q)
            .push("environment = ")
            .push_bind(e.as_str().to_owned());
    }
    match filter.kind.as_deref() {
        None => {}
        Some(k) if k.ends_with('.') => {
            // A byte range, so the (kind, id) index serves prefix filters too.
            w.next(&mut q).push("kind >= ").push_bind(k.to_owned());
            match prefix_end(k) {
                Some(end) => q.push(" AND kind < ").push_bind(end),
                None => q
                    .push(" AND starts_with(kind, ")
                    .push_bind(k.to_owned())
                    .push(")"),
            };
        }
        Some(k) => {
            w.next(&mut q).push("kind = ").push_bind(k.to_owned());
        }
    }
    if let Some(t) = filter.since {
        w.next(&mut q).push("at >= ").push_bind(to_micros(t));
    }
    if let Some(t) = filter.until {
        w.next(&mut q).push("at < ").push_bind(to_micros(t));
    }
    if let Some(id) = filter.before_id {
        w.next(&mut q).push("id < ").push_bind(id);
    }
    q.push(" ORDER BY id DESC LIMIT ")
        .push_bind(i64::from(limit) + 1);
    let rows = q.build().fetch_all(pool).await.db()?;
    let items = rows
        .iter()
        .map(rows::event)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(page(items, limit, |e| e.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_next_string_in_byte_order() {
        assert_eq!(prefix_end("deployment.").as_deref(), Some("deployment/"));
        assert_eq!(prefix_end("a\u{7f}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{7f}"), None);
    }

    #[test]
    fn pages_cut_at_the_limit_with_a_cursor() {
        let p = page(vec![9, 8, 7], 2, |i| *i);
        assert_eq!(p.items, vec![9, 8]);
        assert_eq!(p.next_cursor, Some(Cursor { before_id: 8 }.encode()));
        assert_eq!(page(vec![9, 8], 2, |i| *i).next_cursor, None);
        assert_eq!(page_size(0), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(5000), MAX_PAGE_SIZE);
    }
}
