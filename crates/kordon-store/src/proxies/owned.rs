//! Deleting what proxy profiles reference (logins, client IPs, site lists): owned objects
//! that may not disappear from under a profile.

use kordon_model::FieldErrors;

use super::{distinct, usable_owned, visible_port, WriteError, WriteResult};
use crate::{Change, Scope, Store, StoreError};

/// How an owned object (login, client IP, site list) is deleted and found in use.
pub(crate) struct OwnedKind {
    /// For messages: "proxy login".
    pub what: &'static str,
    pub table: &'static str,
    /// `SELECT p.id, p.port_id FROM proxies p …` with one `?` for the object's id.
    pub users_sql: &'static str,
    pub change: Change,
}

/// Deletes owned objects: every id is one the scope owns (else NotFound and nothing changes),
/// and none is used by a proxy profile. An object in use is refused rather than pulled out of
/// its profiles, because a profile silently losing its login or client IPs would lock its
/// customers out (or, for site lists, open it to every site); the refusal names the profiles.
pub(crate) async fn delete_owned(
    store: &Store,
    scope: Scope,
    ids: &[i64],
    kind: &OwnedKind,
) -> WriteResult<()> {
    let ids = distinct(ids);
    let mut tx = store.pool().begin_with("BEGIN IMMEDIATE").await?;
    for id in &ids {
        if !usable_owned(&mut tx, kind.table, scope, *id).await? {
            return Err(StoreError::NotFound {
                what: kind.what,
                id: *id,
            }
            .into());
        }
    }
    let mut errors = FieldErrors::new();
    for id in &ids {
        let users: Vec<(i64, i64)> = sqlx::query_as(kind.users_sql)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        if users.is_empty() {
            continue;
        }
        let mut shown = Vec::new();
        let mut hidden = 0usize;
        for (proxy_id, port_id) in users {
            if visible_port(&mut tx, scope, port_id).await? {
                shown.push(proxy_id.to_string());
            } else {
                hidden += 1;
            }
        }
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let message = if shown.is_empty() {
            format!(
                "The {} {id} is used by {hidden} proxy profile{} on ports not delegated to \
                 you; ask an administrator to remove it from them first.",
                kind.what,
                plural(hidden)
            )
        } else {
            let more = if hidden > 0 {
                format!(" and {hidden} more on ports not delegated to you")
            } else {
                String::new()
            };
            format!(
                "The {} {id} is used by proxy profile{} {}{more}; remove it from them first.",
                kind.what,
                plural(shown.len()),
                shown.join(", ")
            )
        };
        errors.add("id", message);
    }
    if !errors.is_empty() {
        return Err(WriteError::Invalid(errors));
    }
    for id in &ids {
        sqlx::query(&format!("DELETE FROM {} WHERE id = ?", kind.table))
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    store.emit(kind.change);
    Ok(())
}
