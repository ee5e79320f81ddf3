//! Who may use the ipfilter API: active superusers, and active users given the right
//! (`users.ipfilter_access`).

use sqlx::QueryBuilder;

use crate::users::set_user_flag;
use crate::{Result, Store};

impl Store {
    /// Whether user `id` exists, is active and may use the ipfilter API now.
    pub async fn ipfilter_allowed(&self, id: i64) -> Result<bool> {
        let allowed: Option<bool> = sqlx::query_scalar(
            "SELECT is_active = 1 AND (is_superuser = 1 OR ipfilter_access = 1) \
             FROM users WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        Ok(allowed.unwrap_or(false))
    }

    /// Gives or takes the right to the ipfilter API; every id must name a user, or nothing
    /// changes.
    pub async fn set_ipfilter_access(&self, ids: &[i64], allowed: bool) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for id in ids {
            let update = "UPDATE users SET ipfilter_access = ? WHERE id = ?";
            set_user_flag(&mut tx, update, *id, allowed).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Ids of the users given the right explicitly, among `ids` (all users when empty).
    pub async fn ipfilter_access_users(&self, ids: &[i64]) -> Result<Vec<i64>> {
        let mut query = QueryBuilder::new("SELECT id FROM users WHERE ipfilter_access = 1");
        if !ids.is_empty() {
            query.push(" AND id IN (");
            let mut list = query.separated(", ");
            for id in ids {
                list.push_bind(*id);
            }
            query.push(")");
        }
        query.push(" ORDER BY id");
        Ok(query.build_query_scalar().fetch_all(self.pool()).await?)
    }
}
