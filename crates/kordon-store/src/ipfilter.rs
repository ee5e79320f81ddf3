//! ipfilter rules: create, read, update, destroy, the paged list (`list`) and its in-memory
//! rank index (`order`, kept up to date by `catch_up`), bulk import and export (`bulk`), the journal enforcement follows and the sweep of expired rules
//! (`journal`), and the per-user right to the API (`access`).
//!
//! A rule whose `expires_at` has passed is gone for every reader at once, even before the
//! sweep deletes its row: reads filter on the caller's `now`.

pub mod access;
pub mod bulk;
mod catch_up;
pub mod journal;
pub mod list;
mod network;
pub(crate) mod order;

use ipnet::IpNet;
use kordon_model::ipfilter::{RuleKind, RuleSpec};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, Transaction};

use crate::{Change, Result, Store, StoreError};

pub use network::{decode_key, network_key};

/// A stored rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpFilterRule {
    pub id: i64,
    pub network: IpNet,
    pub kind: RuleKind,
    /// Unix seconds; `None` for permanent blocks.
    pub expires_at: Option<i64>,
    pub description: String,
    pub created_at: i64,
}

pub(crate) const RULE_COLUMNS: &str =
    "id, ip_key, prefix_len, kind, expires_at, description, created_at";

/// `expires_at` still ahead of the bound `now` (or none): the rule is alive.
pub(crate) const ALIVE: &str = "(expires_at IS NULL OR expires_at > ?)";

pub(crate) fn rule_from_row(row: &SqliteRow) -> Result<IpFilterRule> {
    let id: i64 = row.try_get("id")?;
    let network = network::network_from(row.try_get("ip_key")?, row.try_get("prefix_len")?)
        .ok_or_else(|| corrupt(id))?;
    let kind = RuleKind::from_code(row.try_get("kind")?).ok_or_else(|| corrupt(id))?;
    Ok(IpFilterRule {
        id,
        network,
        kind,
        expires_at: row.try_get("expires_at")?,
        description: row.try_get("description")?,
        created_at: row.try_get("created_at")?,
    })
}

fn corrupt(id: i64) -> StoreError {
    StoreError::Db(sqlx::Error::Decode(
        format!("ipfilter rule {id} has an unreadable network or type").into(),
    ))
}

/// The message of a duplicate rule, naming the rule it repeats.
pub fn duplicate_message(spec: &RuleSpec, existing: i64) -> String {
    format!(
        "A type {} rule for {} already exists (id {existing}).",
        spec.kind.code(),
        spec.network
    )
}

fn not_found(id: i64) -> StoreError {
    StoreError::NotFound {
        what: "ip filter",
        id,
    }
}

/// Deletes an expired rule of the same network and type, whose row the sweep has not reached
/// yet, so it does not stand in the way of a new one.
async fn clear_expired_twin(
    tx: &mut Transaction<'_, Sqlite>,
    spec: &RuleSpec,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM ipfilter_rules WHERE ip_key = ? AND prefix_len = ? AND kind = ? \
         AND expires_at <= ?",
    )
    .bind(network_key(&spec.network))
    .bind(i64::from(spec.network.prefix_len()))
    .bind(spec.kind.code())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The id of another alive rule of the same network and type, if any.
async fn twin(
    tx: &mut Transaction<'_, Sqlite>,
    spec: &RuleSpec,
    except: i64,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM ipfilter_rules WHERE ip_key = ? AND prefix_len = ? AND kind = ? \
         AND id != ?",
    )
    .bind(network_key(&spec.network))
    .bind(i64::from(spec.network.prefix_len()))
    .bind(spec.kind.code())
    .bind(except)
    .fetch_optional(&mut **tx)
    .await?)
}

impl Store {
    /// One alive rule.
    pub async fn ipfilter_rule(&self, id: i64, now: i64) -> Result<IpFilterRule> {
        let row = sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM ipfilter_rules WHERE id = ? AND {ALIVE}"
        ))
        .bind(id)
        .bind(now)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| not_found(id))?;
        rule_from_row(&row)
    }

    /// Stores a new rule; a duplicate (same network and type) is a conflict on `ip`.
    pub async fn create_ipfilter_rule(&self, spec: &RuleSpec, now: i64) -> Result<IpFilterRule> {
        let mut tx = self.pool().begin().await?;
        clear_expired_twin(&mut tx, spec, now).await?;
        if let Some(existing) = twin(&mut tx, spec, 0).await? {
            return Err(StoreError::conflict(
                "ip",
                duplicate_message(spec, existing),
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO ipfilter_rules \
             (ip_key, ip, prefix_len, kind, expires_at, description, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(network_key(&spec.network))
        .bind(spec.network.addr().to_string())
        .bind(i64::from(spec.network.prefix_len()))
        .bind(spec.kind.code())
        .bind(spec.expires_at)
        .bind(&spec.description)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        self.emit(Change::IpFilter);
        self.ipfilter_rule(id, now).await
    }

    /// Replaces every field of alive rule `id`.
    pub async fn update_ipfilter_rule(
        &self,
        id: i64,
        spec: &RuleSpec,
        now: i64,
    ) -> Result<IpFilterRule> {
        let mut tx = self.pool().begin().await?;
        let alive: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT id FROM ipfilter_rules WHERE id = ? AND {ALIVE}"
        ))
        .bind(id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if alive.is_none() {
            return Err(not_found(id));
        }
        clear_expired_twin(&mut tx, spec, now).await?;
        if let Some(existing) = twin(&mut tx, spec, id).await? {
            return Err(StoreError::conflict(
                "ip",
                duplicate_message(spec, existing),
            ));
        }
        sqlx::query(
            "UPDATE ipfilter_rules SET ip_key = ?, ip = ?, prefix_len = ?, kind = ?, \
             expires_at = ?, description = ? WHERE id = ?",
        )
        .bind(network_key(&spec.network))
        .bind(spec.network.addr().to_string())
        .bind(i64::from(spec.network.prefix_len()))
        .bind(spec.kind.code())
        .bind(spec.expires_at)
        .bind(&spec.description)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.emit(Change::IpFilter);
        self.ipfilter_rule(id, now).await
    }

    /// Deletes alive rule `id`.
    pub async fn delete_ipfilter_rule(&self, id: i64, now: i64) -> Result<()> {
        let done = sqlx::query(&format!(
            "DELETE FROM ipfilter_rules WHERE id = ? AND {ALIVE}"
        ))
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Err(not_found(id));
        }
        self.emit(Change::IpFilter);
        Ok(())
    }
}
