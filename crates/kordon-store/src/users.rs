//! Panel users, their argon2 password hashes and their API keys.
//!
//! A key is 40 hex characters (as Django REST Framework's `Token`); only its SHA-256 is stored,
//! so a stolen database does not hand out sessions. Deactivating or deleting a user removes all
//! of their keys in the same transaction.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{QueryBuilder, Row, Sqlite};

use kordon_model::filter::Page;

use crate::listing::{self, SortColumn};
use crate::{now, Change, Result, Store, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_staff: bool,
    pub is_active: bool,
    pub is_superuser: bool,
    pub phone: Option<String>,
    pub timezone: String,
    pub date_joined: i64,
}

/// Fields of a user as the API writes them. `password` is `None` on edits that keep it.
#[derive(Debug, Clone)]
pub struct UserFields {
    pub username: String,
    pub password: Option<String>,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub phone: Option<String>,
    pub timezone: String,
}

pub const MSG_USERNAME_TAKEN: &str = "A user with that username already exists.";
pub const MSG_EMAIL_TAKEN: &str = "A user with that email already exists.";

const USER_COLUMNS: &str = "id, username, email, first_name, last_name, is_staff, is_active, \
     is_superuser, phone, timezone, date_joined";

pub const USER_SORTS: &[SortColumn] = &[
    SortColumn {
        field: "id",
        sql: "id",
    },
    SortColumn {
        field: "username",
        sql: "username",
    },
    SortColumn {
        field: "email",
        sql: "email",
    },
    SortColumn {
        field: "date_joined",
        sql: "date_joined",
    },
    SortColumn {
        field: "is_active",
        sql: "is_active",
    },
];

/// A write that lost a race for a unique name or e-mail (the check before it passed) is the
/// same conflict the check reports; anything else stays a database error.
fn unique_conflict(error: sqlx::Error) -> StoreError {
    let field = match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            if db.message().contains("email") {
                "email"
            } else {
                "username"
            }
        }
        _ => return StoreError::Db(error),
    };
    let message = if field == "email" {
        MSG_EMAIL_TAKEN
    } else {
        MSG_USERNAME_TAKEN
    };
    StoreError::conflict(field, message)
}

/// Hashes a password with argon2id off the async runtime (it is deliberately slow).
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| StoreError::Hash(e.to_string()))
    })
    .await
    .map_err(|e| StoreError::Hash(e.to_string()))?
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

fn token_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new random 40-hex key.
pub fn new_key() -> String {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Store {
    pub async fn user_count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(self.pool())
            .await?)
    }

    pub async fn user(&self, id: i64) -> Result<User> {
        sqlx::query_as::<_, User>(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound { what: "user", id })
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        Ok(sqlx::query_as::<_, User>(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE username = ?"
        ))
        .bind(username)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Every uniqueness rule a user with this name and e-mail would break (except against
    /// user `except`, the one being edited), as `(field, message)` pairs, so the API can
    /// report them together with the other field errors of the request.
    pub async fn user_conflicts(
        &self,
        username: &str,
        email: &str,
        except: Option<i64>,
    ) -> Result<Vec<(&'static str, &'static str)>> {
        let except = except.unwrap_or(0);
        let mut conflicts = Vec::new();
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE username = ? AND id != ?")
                .bind(username)
                .bind(except)
                .fetch_optional(self.pool())
                .await?;
        if taken.is_some() {
            conflicts.push(("username", MSG_USERNAME_TAKEN));
        }
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = lower(?) AND id != ?")
                .bind(email)
                .bind(except)
                .fetch_optional(self.pool())
                .await?;
        if taken.is_some() {
            conflicts.push(("email", MSG_EMAIL_TAKEN));
        }
        Ok(conflicts)
    }

    async fn check_unique(&self, fields: &UserFields, except: Option<i64>) -> Result<()> {
        let except = except.unwrap_or(0);
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE username = ? AND id != ?")
                .bind(&fields.username)
                .bind(except)
                .fetch_optional(self.pool())
                .await?;
        if taken.is_some() {
            return Err(StoreError::conflict("username", MSG_USERNAME_TAKEN));
        }
        let taken: Option<i64> =
            sqlx::query_scalar("SELECT id FROM users WHERE lower(email) = lower(?) AND id != ?")
                .bind(&fields.email)
                .bind(except)
                .fetch_optional(self.pool())
                .await?;
        if taken.is_some() {
            return Err(StoreError::conflict("email", MSG_EMAIL_TAKEN));
        }
        Ok(())
    }

    /// Creates a user; `fields.password` must be set.
    pub async fn create_user(&self, fields: &UserFields) -> Result<User> {
        self.check_unique(fields, None).await?;
        let password = fields
            .password
            .clone()
            .ok_or_else(|| StoreError::conflict("password", "This field is required."))?;
        let hash = hash_password(password).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, password_hash, email, first_name, last_name, \
             is_staff, is_active, is_superuser, phone, timezone, date_joined) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&fields.username)
        .bind(hash)
        .bind(&fields.email)
        .bind(&fields.first_name)
        .bind(&fields.last_name)
        .bind(fields.is_superuser)
        .bind(fields.is_active)
        .bind(fields.is_superuser)
        .bind(&fields.phone)
        .bind(&fields.timezone)
        .bind(now())
        .fetch_one(self.pool())
        .await
        .map_err(unique_conflict)?;
        self.emit(Change::Users);
        self.user(id).await
    }

    /// Saves an edit. The superuser flag is kept as it is (it is not an API field); a
    /// deactivated user, or one whose password changes, loses every key.
    pub async fn update_user(&self, id: i64, fields: &UserFields) -> Result<User> {
        self.user(id).await?;
        self.check_unique(fields, Some(id)).await?;
        let hash = match &fields.password {
            Some(password) => Some(hash_password(password.clone()).await?),
            None => None,
        };
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE users SET username = ?, email = ?, first_name = ?, last_name = ?, \
             is_active = ?, phone = ?, timezone = ?, \
             password_hash = coalesce(?, password_hash) WHERE id = ?",
        )
        .bind(&fields.username)
        .bind(&fields.email)
        .bind(&fields.first_name)
        .bind(&fields.last_name)
        .bind(fields.is_active)
        .bind(&fields.phone)
        .bind(&fields.timezone)
        .bind(hash)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(unique_conflict)?;
        // A new password ends every session of the old one, as deactivation does.
        if !fields.is_active || fields.password.is_some() {
            sqlx::query("DELETE FROM auth_tokens WHERE user_id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.emit(Change::Users);
        self.user(id).await
    }

    pub async fn list_users(&self, page: &Page) -> Result<(i64, Vec<User>)> {
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(self.pool())
            .await?;
        let mut query: QueryBuilder<Sqlite> =
            QueryBuilder::new(format!("SELECT {USER_COLUMNS} FROM users WHERE 1=1"));
        listing::push_page(&mut query, page, USER_SORTS, "id");
        let users = query
            .build_query_as::<User>()
            .fetch_all(self.pool())
            .await?;
        Ok((total, users))
    }

    /// Activates or deactivates users; all of them exist or nothing changes.
    pub async fn set_users_active(&self, ids: &[i64], active: bool) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for id in ids {
            set_user_flag(
                &mut tx,
                "UPDATE users SET is_active = ? WHERE id = ?",
                *id,
                active,
            )
            .await?;
            if !active {
                sqlx::query("DELETE FROM auth_tokens WHERE user_id = ?")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        self.emit(Change::Users);
        Ok(())
    }

    /// Deletes users with their keys and delegations; all of them exist or nothing changes.
    /// Proxy logins, IPs and site lists they created stay, owned by nobody (superusers only).
    pub async fn delete_users(&self, ids: &[i64]) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        for id in ids {
            let done = sqlx::query("DELETE FROM users WHERE id = ?")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound {
                    what: "user",
                    id: *id,
                });
            }
        }
        tx.commit().await?;
        self.emit(Change::Users);
        self.emit(Change::Ports);
        Ok(())
    }

    /// Active superusers other than those in `except`.
    pub async fn other_active_superusers(&self, except: &[i64]) -> Result<i64> {
        let mut query: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT count(*) FROM users WHERE is_superuser = 1 AND is_active = 1",
        );
        if !except.is_empty() {
            query.push(" AND id NOT IN (");
            let mut ids = query.separated(", ");
            for id in except {
                ids.push_bind(*id);
            }
            query.push(")");
        }
        Ok(query.build_query_scalar().fetch_one(self.pool()).await?)
    }

    /// Replaces a user's password and revokes their keys (recovery).
    pub async fn set_password(&self, username: &str, password: &str) -> Result<()> {
        let user = self
            .user_by_name(username)
            .await?
            .ok_or_else(|| StoreError::conflict("username", format!("No user \"{username}\".")))?;
        let hash = hash_password(password.to_string()).await?;
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
            .bind(hash)
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM auth_tokens WHERE user_id = ?")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The active user with these credentials. A missing user costs a hash too, so timing does
    /// not tell which user names exist.
    pub async fn check_credentials(&self, username: &str, password: &str) -> Result<Option<User>> {
        let row = sqlx::query("SELECT id, password_hash, is_active FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else {
            let _ = hash_password(password.to_string()).await;
            return Ok(None);
        };
        let hash: String = row.get("password_hash");
        if !verify_password(password.to_string(), hash).await {
            return Ok(None);
        }
        if !row.get::<bool, _>("is_active") {
            return Ok(None);
        }
        Ok(Some(self.user(row.get("id")).await?))
    }

    /// Issues a new API key for the user and returns it (the only time it is visible).
    pub async fn issue_key(&self, user_id: i64) -> Result<String> {
        let key = new_key();
        sqlx::query("INSERT INTO auth_tokens (key_hash, user_id, created) VALUES (?, ?, ?)")
            .bind(token_hash(&key))
            .bind(user_id)
            .bind(now())
            .execute(self.pool())
            .await?;
        Ok(key)
    }

    /// The active user holding this key, if any.
    pub async fn user_by_key(&self, key: &str) -> Result<Option<User>> {
        Ok(sqlx::query_as::<_, User>(&format!(
            "SELECT {} FROM users u JOIN auth_tokens t ON t.user_id = u.id \
             WHERE t.key_hash = ? AND u.is_active = 1",
            USER_COLUMNS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .bind(token_hash(key))
        .fetch_optional(self.pool())
        .await?)
    }

    /// Revokes one key.
    pub async fn revoke_key(&self, key: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM auth_tokens WHERE key_hash = ?")
            .bind(token_hash(key))
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

/// Runs `update` (an `UPDATE users SET <flag> = ? WHERE id = ?` written in this crate) for one
/// user; a missing user is `NotFound`, so the caller's transaction is dropped unchanged.
pub(crate) async fn set_user_flag(
    conn: &mut sqlx::SqliteConnection,
    update: &'static str,
    id: i64,
    value: bool,
) -> Result<()> {
    let done = sqlx::query(update)
        .bind(value)
        .bind(id)
        .execute(conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound { what: "user", id });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lost_uniqueness_races_are_field_conflicts() {
        let store = Store::open_url("sqlite::memory:").await.unwrap();
        let insert = |username: &'static str, email: &'static str| {
            sqlx::query(
                "INSERT INTO users (username, password_hash, email, date_joined) \
                 VALUES (?, 'x', ?, 0)",
            )
            .bind(username)
            .bind(email)
            .execute(store.pool())
        };
        insert("first", "a@example.com").await.unwrap();
        let by_email = insert("second", "A@Example.com").await.unwrap_err();
        assert!(matches!(
            unique_conflict(by_email),
            StoreError::Conflict { field, .. } if field == "email"
        ));
        let by_name = insert("first", "b@example.com").await.unwrap_err();
        assert!(matches!(
            unique_conflict(by_name),
            StoreError::Conflict { field, .. } if field == "username"
        ));
        let other = sqlx::query("INSERT INTO nowhere VALUES (1)")
            .execute(store.pool())
            .await
            .unwrap_err();
        assert!(matches!(unique_conflict(other), StoreError::Db(_)));
    }
}
