//! Proxy logins: the login/password pairs `strong` profiles authenticate with, and their
//! bitrate caps (bits per second, 0 = unlimited).
//!
//! A login belongs to the panel user who created it (`owner_id`): superusers see and use every
//! login, anybody else only their own. Login names are unique across the whole farm because the
//! proxy plane finds a client's profile by them.

use crate::proxies::{delete_owned, scope_user, OwnedKind, WriteResult};
use crate::{now, Change, Result, Scope, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Deserialize)]
pub struct ProxyLogin {
    pub id: i64,
    pub login: String,
    pub password: String,
    pub bitrate_in: i64,
    pub bitrate_out: i64,
    pub owner_id: Option<i64>,
    pub date_create: i64,
}

pub(crate) const LOGIN_COLUMNS: &str =
    "id, login, password, bitrate_in, bitrate_out, owner_id, date_create";

/// A login as the API writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginFields {
    pub login: String,
    pub password: String,
    pub bitrate_in: i64,
    pub bitrate_out: i64,
}

const MSG_LOGIN_TAKEN: &str = "A proxy login with that name already exists.";

const LOGINS: OwnedKind = OwnedKind {
    what: "proxy login",
    table: "proxy_logins",
    users_sql: "SELECT id, port_id FROM proxies WHERE login_id = ? ORDER BY id",
    change: Change::ProxyLogins,
};

/// The unique index on `login` is the last word when two saves race past the check.
fn taken_on_race(error: sqlx::Error) -> StoreError {
    match error.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::conflict("login", MSG_LOGIN_TAKEN),
        _ => StoreError::Db(error),
    }
}

impl Store {
    /// The logins the scope sees, by id.
    pub async fn proxy_logins(&self, scope: Scope) -> Result<Vec<ProxyLogin>> {
        let user = scope_user(scope);
        Ok(sqlx::query_as(&format!(
            "SELECT {LOGIN_COLUMNS} FROM proxy_logins WHERE (? IS NULL OR owner_id = ?) \
             ORDER BY id"
        ))
        .bind(user)
        .bind(user)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn proxy_login(&self, scope: Scope, id: i64) -> Result<ProxyLogin> {
        let user = scope_user(scope);
        sqlx::query_as(&format!(
            "SELECT {LOGIN_COLUMNS} FROM proxy_logins WHERE id = ? AND (? IS NULL OR owner_id = ?)"
        ))
        .bind(id)
        .bind(user)
        .bind(user)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound {
            what: "proxy login",
            id,
        })
    }

    async fn check_login_free(&self, login: &str, except: i64) -> Result<()> {
        // The holder is not named: it may be another user's login.
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM proxy_logins WHERE login = ? AND id != ?")
                .bind(login)
                .bind(except)
                .fetch_optional(self.pool())
                .await?;
        match taken {
            Some(_) => Err(StoreError::conflict("login", MSG_LOGIN_TAKEN)),
            None => Ok(()),
        }
    }

    pub async fn create_proxy_login(&self, owner: i64, fields: &LoginFields) -> Result<ProxyLogin> {
        self.check_login_free(&fields.login, 0).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO proxy_logins (login, password, bitrate_in, bitrate_out, owner_id, \
             date_create) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&fields.login)
        .bind(&fields.password)
        .bind(fields.bitrate_in)
        .bind(fields.bitrate_out)
        .bind(owner)
        .bind(now())
        .fetch_one(self.pool())
        .await
        .map_err(taken_on_race)?;
        self.emit(Change::ProxyLogins);
        self.proxy_login(Scope::All, id).await
    }

    pub async fn update_proxy_login(
        &self,
        scope: Scope,
        id: i64,
        fields: &LoginFields,
    ) -> Result<ProxyLogin> {
        self.proxy_login(scope, id).await?;
        self.check_login_free(&fields.login, id).await?;
        sqlx::query(
            "UPDATE proxy_logins SET login = ?, password = ?, bitrate_in = ?, bitrate_out = ? \
             WHERE id = ?",
        )
        .bind(&fields.login)
        .bind(&fields.password)
        .bind(fields.bitrate_in)
        .bind(fields.bitrate_out)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(taken_on_race)?;
        self.emit(Change::ProxyLogins);
        self.proxy_login(Scope::All, id).await
    }

    /// Deletes logins the scope owns; refused for logins a profile uses (see
    /// [`crate::proxies`]'s `delete_owned`).
    pub async fn delete_proxy_logins(&self, scope: Scope, ids: &[i64]) -> WriteResult<()> {
        delete_owned(self, scope, ids, &LOGINS).await
    }
}
