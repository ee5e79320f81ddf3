//! Catalogues: modem models and OS fingerprints (seeded at first start), operators and network
//! types (created by monitoring as they are first seen).

use kordon_model::catalog::{MODEM_MODELS, OS_PERSONALITIES};

use crate::{Change, Result, Store};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ModemModelRow {
    pub id: i64,
    pub code: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OsFingerprint {
    pub id: i64,
    pub name: String,
    pub os: String,
    pub ttl: i64,
    pub window_size: i64,
    pub window_scale: Option<i64>,
    pub mss: i64,
    pub options: String,
    pub df: bool,
    pub p0f_signature: String,
}

/// An operator or a network type: both are `{id, name}`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Named {
    pub id: i64,
    pub name: String,
}

/// Inserts the built-in catalogues; rows already present (by id) are left as they are.
pub(crate) async fn seed(store: &Store) -> Result<()> {
    let mut tx = store.pool().begin().await?;
    for model in MODEM_MODELS {
        sqlx::query("INSERT OR IGNORE INTO modem_models (id, code, name) VALUES (?, ?, ?)")
            .bind(model.id)
            .bind(model.code)
            .bind(model.name)
            .execute(&mut *tx)
            .await?;
    }
    for p in OS_PERSONALITIES {
        sqlx::query(
            "INSERT OR IGNORE INTO os_fingerprints (id, name, os, ttl, window_size, \
             window_scale, mss, options, df, p0f_signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(p.id)
        .bind(p.name)
        .bind(p.os)
        .bind(i64::from(p.ttl))
        .bind(i64::from(p.window_size))
        .bind(p.window_scale.map(i64::from))
        .bind(i64::from(p.mss))
        .bind(p.options)
        .bind(p.df)
        .bind(p.p0f_signature)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

impl Store {
    pub async fn modem_models(&self) -> Result<Vec<ModemModelRow>> {
        Ok(
            sqlx::query_as("SELECT id, code, name FROM modem_models ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    pub async fn modem_model_exists(&self, id: i64) -> Result<bool> {
        Ok(
            sqlx::query_scalar::<_, i64>("SELECT id FROM modem_models WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .is_some(),
        )
    }

    pub async fn os_fingerprints(&self) -> Result<Vec<OsFingerprint>> {
        Ok(sqlx::query_as("SELECT * FROM os_fingerprints ORDER BY id")
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn os_fingerprint(&self, id: i64) -> Result<Option<OsFingerprint>> {
        Ok(sqlx::query_as("SELECT * FROM os_fingerprints WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn operators(&self) -> Result<Vec<Named>> {
        Ok(sqlx::query_as("SELECT id, name FROM operators ORDER BY id")
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn network_types(&self) -> Result<Vec<Named>> {
        Ok(
            sqlx::query_as("SELECT id, name FROM network_types ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// The operator's id, creating the operator when first seen.
    pub async fn operator_id(&self, name: &str) -> Result<i64> {
        self.named_id("operators", name).await
    }

    /// The network type's id, creating it when first seen.
    pub async fn network_type_id(&self, name: &str) -> Result<i64> {
        self.named_id("network_types", name).await
    }

    async fn named_id(&self, table: &'static str, name: &str) -> Result<i64> {
        sqlx::query(&format!("INSERT OR IGNORE INTO {table} (name) VALUES (?)"))
            .bind(name)
            .execute(self.pool())
            .await?;
        let id = sqlx::query_scalar(&format!("SELECT id FROM {table} WHERE name = ?"))
            .bind(name)
            .fetch_one(self.pool())
            .await?;
        self.emit(Change::Catalog);
        Ok(id)
    }
}
