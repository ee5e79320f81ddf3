//! Store errors. Conflicts and missing references carry the API field they concern so the API
//! can report them under that field.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    /// No such object, or not one the caller's scope may see (the two are not told apart, so
    /// an id guess reveals nothing).
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: i64 },
    /// The write would break a rule that involves other rows (uniqueness, an object in use).
    #[error("{field}: {message}")]
    Conflict { field: String, message: String },
    #[error("password hashing failed: {0}")]
    Hash(String),
}

impl StoreError {
    pub fn conflict(field: &str, message: impl Into<String>) -> Self {
        StoreError::Conflict {
            field: field.to_string(),
            message: message.into(),
        }
    }
}
