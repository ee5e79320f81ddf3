//! Site lists: named sets of domains a profile's `allow` points to (with `is_allow` deciding
//! whether they are the only sites allowed or the sites refused). Owned like logins and IPs.

use std::collections::HashMap;

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::proxies::{delete_owned, push_id_list, scope_user, OwnedKind, WriteResult};
use crate::{now, Change, Result, Scope, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteList {
    pub id: i64,
    pub name: String,
    /// Normalised domains, sorted.
    pub domains: Vec<String>,
    pub owner_id: Option<i64>,
    pub date_create: i64,
    pub date_update: i64,
}

#[derive(sqlx::FromRow)]
struct SiteListRow {
    id: i64,
    name: String,
    owner_id: Option<i64>,
    date_create: i64,
    date_update: i64,
}

const LISTS: OwnedKind = OwnedKind {
    what: "site list",
    table: "site_lists",
    users_sql: "SELECT p.id, p.port_id FROM proxies p JOIN proxy_allow a \
                ON a.proxy_id = p.id WHERE a.list_id = ? ORDER BY p.id",
    change: Change::SiteLists,
};

/// Attaches each list's domains, loaded in one query.
async fn with_domains(
    conn: &mut SqliteConnection,
    rows: Vec<SiteListRow>,
) -> Result<Vec<SiteList>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut query: QueryBuilder<Sqlite> =
        QueryBuilder::new("SELECT list_id, domain FROM site_list_domains WHERE list_id IN ");
    push_id_list(&mut query, &ids);
    query.push(" ORDER BY list_id, domain");
    let mut domains: HashMap<i64, Vec<String>> = HashMap::new();
    for (list_id, domain) in query
        .build_query_as::<(i64, String)>()
        .fetch_all(&mut *conn)
        .await?
    {
        domains.entry(list_id).or_default().push(domain);
    }
    Ok(rows
        .into_iter()
        .map(|row| SiteList {
            domains: domains.remove(&row.id).unwrap_or_default(),
            id: row.id,
            name: row.name,
            owner_id: row.owner_id,
            date_create: row.date_create,
            date_update: row.date_update,
        })
        .collect())
}

async fn replace_domains(conn: &mut SqliteConnection, id: i64, domains: &[String]) -> Result<()> {
    sqlx::query("DELETE FROM site_list_domains WHERE list_id = ?")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for domain in domains {
        sqlx::query("INSERT OR IGNORE INTO site_list_domains (list_id, domain) VALUES (?, ?)")
            .bind(id)
            .bind(domain)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

impl Store {
    /// The site lists the scope sees, by id, with their domains.
    pub async fn site_lists(&self, scope: Scope) -> Result<Vec<SiteList>> {
        let user = scope_user(scope);
        let mut conn = self.pool().acquire().await?;
        let rows: Vec<SiteListRow> = sqlx::query_as(
            "SELECT id, name, owner_id, date_create, date_update FROM site_lists \
             WHERE (? IS NULL OR owner_id = ?) ORDER BY id",
        )
        .bind(user)
        .bind(user)
        .fetch_all(&mut *conn)
        .await?;
        with_domains(&mut conn, rows).await
    }

    pub async fn site_list(&self, scope: Scope, id: i64) -> Result<SiteList> {
        let user = scope_user(scope);
        let mut conn = self.pool().acquire().await?;
        let row: Option<SiteListRow> = sqlx::query_as(
            "SELECT id, name, owner_id, date_create, date_update FROM site_lists \
             WHERE id = ? AND (? IS NULL OR owner_id = ?)",
        )
        .bind(id)
        .bind(user)
        .bind(user)
        .fetch_optional(&mut *conn)
        .await?;
        let row = row.ok_or(StoreError::NotFound {
            what: "site list",
            id,
        })?;
        with_domains(&mut conn, vec![row])
            .await?
            .pop()
            .ok_or(StoreError::NotFound {
                what: "site list",
                id,
            })
    }

    /// Creates a list for `owner`; `domains` are already normalised.
    pub async fn create_site_list(
        &self,
        owner: i64,
        name: &str,
        domains: &[String],
    ) -> Result<SiteList> {
        let mut tx = self.pool().begin().await?;
        let stamp = now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO site_lists (name, owner_id, date_create, date_update) \
             VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(owner)
        .bind(stamp)
        .bind(stamp)
        .fetch_one(&mut *tx)
        .await?;
        replace_domains(&mut tx, id, domains).await?;
        tx.commit().await?;
        self.emit(Change::SiteLists);
        self.site_list(Scope::All, id).await
    }

    /// Renames a list and replaces its domains.
    pub async fn update_site_list(
        &self,
        scope: Scope,
        id: i64,
        name: &str,
        domains: &[String],
    ) -> Result<SiteList> {
        let user = scope_user(scope);
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let done = sqlx::query(
            "UPDATE site_lists SET name = ?, date_update = ? \
             WHERE id = ? AND (? IS NULL OR owner_id = ?)",
        )
        .bind(name)
        .bind(now())
        .bind(id)
        .bind(user)
        .bind(user)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound {
                what: "site list",
                id,
            });
        }
        replace_domains(&mut tx, id, domains).await?;
        tx.commit().await?;
        self.emit(Change::SiteLists);
        self.site_list(Scope::All, id).await
    }

    /// Deletes lists the scope owns; refused for lists a profile allows.
    pub async fn delete_site_lists(&self, scope: Scope, ids: &[i64]) -> WriteResult<()> {
        delete_owned(self, scope, ids, &LISTS).await
    }
}
