//! Client IPs that `iponly` profiles let in without a login. Like logins they belong to the
//! panel user who added them; one owner holds an address once.

use crate::proxies::{delete_owned, scope_user, OwnedKind, WriteResult};
use crate::{now, Change, Result, Scope, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProxyIp {
    pub id: i64,
    pub ip: String,
    pub description: Option<String>,
    pub owner_id: Option<i64>,
    pub date_create: i64,
}

const IP_COLUMNS: &str = "id, ip, description, owner_id, date_create";

const IPS: OwnedKind = OwnedKind {
    what: "proxy IP",
    table: "proxy_ips",
    users_sql: "SELECT p.id, p.port_id FROM proxies p JOIN proxy_auth_ips pa \
                ON pa.proxy_id = p.id WHERE pa.ip_id = ? ORDER BY p.id",
    change: Change::ProxyIps,
};

impl Store {
    /// The client IPs the scope sees, by id.
    pub async fn proxy_ips(&self, scope: Scope) -> Result<Vec<ProxyIp>> {
        let user = scope_user(scope);
        Ok(sqlx::query_as(&format!(
            "SELECT {IP_COLUMNS} FROM proxy_ips WHERE (? IS NULL OR owner_id = ?) ORDER BY id"
        ))
        .bind(user)
        .bind(user)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn proxy_ip(&self, scope: Scope, id: i64) -> Result<ProxyIp> {
        let user = scope_user(scope);
        sqlx::query_as(&format!(
            "SELECT {IP_COLUMNS} FROM proxy_ips WHERE id = ? AND (? IS NULL OR owner_id = ?)"
        ))
        .bind(id)
        .bind(user)
        .bind(user)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound {
            what: "proxy IP",
            id,
        })
    }

    /// Adds a client IP (`ip` already in canonical form) for `owner`; an address the owner
    /// already has is a conflict naming the existing entry.
    pub async fn create_proxy_ip(
        &self,
        owner: i64,
        ip: &str,
        description: Option<&str>,
    ) -> Result<ProxyIp> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM proxy_ips WHERE owner_id = ? AND ip = ?")
                .bind(owner)
                .bind(ip)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(existing) = existing {
            return Err(StoreError::conflict(
                "ip",
                format!("{ip} is already in your list (id {existing})."),
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO proxy_ips (ip, description, owner_id, date_create) \
             VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(ip)
        .bind(description)
        .bind(owner)
        .bind(now())
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        self.emit(Change::ProxyIps);
        self.proxy_ip(Scope::All, id).await
    }

    /// Deletes client IPs the scope owns; refused for IPs a profile uses.
    pub async fn delete_proxy_ips(&self, scope: Scope, ids: &[i64]) -> WriteResult<()> {
        delete_owned(self, scope, ids, &IPS).await
    }
}
