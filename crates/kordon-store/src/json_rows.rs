//! Rows that SQLite builds as JSON text (`json_object`, `json_group_array`) and serde reads
//! back: one value per row or per page instead of one per column, since sqlx copies each
//! column value separately and hands each row across from its worker thread on its own.

use serde::{Deserialize, Deserializer};

use crate::{Result, StoreError};

/// Reads JSON text built by SQLite; a mismatch with the Rust type is a decode error.
pub(crate) fn decode<'a, T: Deserialize<'a>>(text: &'a str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Db(sqlx::Error::Decode(Box::new(e))))
}

/// SQLite keeps booleans as 0/1 and `json_object` passes them on as numbers.
pub(crate) fn flag<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> std::result::Result<bool, D::Error> {
    Ok(i64::deserialize(deserializer)? != 0)
}
