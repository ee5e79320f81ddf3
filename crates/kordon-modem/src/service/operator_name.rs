//! One operator for the names the two firmware families report. HiLink shows the long name
//! with the country ("MegaFon RUS"), goform the short one ("MegaFon"); the farm document lists
//! operators as "MTS RUS". Names are compared by a key (case folded, spaces collapsed, a
//! trailing country word dropped); the first spelling seen names the operator, and later
//! spellings with the same key join it. Network types are cached the same way, by exact name.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kordon_store::{Store, StoreError};

/// Country words firmwares append to the operator's name.
const COUNTRY_SUFFIXES: &[&str] = &["rus", "ru", "russia"];

/// The comparison key of an operator name: "MegaFon RUS", "megafon" and " MegaFon " share one.
pub fn operator_key(name: &str) -> String {
    let mut words: Vec<String> = name.split_whitespace().map(str::to_lowercase).collect();
    if words.len() > 1 {
        if let Some(last) = words.last() {
            if COUNTRY_SUFFIXES.contains(&last.as_str()) {
                words.pop();
            }
        }
    }
    words.join(" ")
}

/// Operator and network type ids by name, created in the store on first sight; cached so a
/// monitoring tick costs no store write.
#[derive(Clone)]
pub struct CatalogIds {
    store: Store,
    operators: Arc<Mutex<HashMap<String, i64>>>,
    network_types: Arc<Mutex<HashMap<String, i64>>>,
    /// One lookup of an unseen operator at a time: two ports seeing "MegaFon" and
    /// "MegaFon RUS" for the first time together must not create two operators.
    creating: Arc<tokio::sync::Mutex<()>>,
}

impl CatalogIds {
    pub fn new(store: Store) -> CatalogIds {
        CatalogIds {
            store,
            operators: Arc::default(),
            network_types: Arc::default(),
            creating: Arc::default(),
        }
    }

    /// The id of the operator `name` belongs to.
    pub async fn operator(&self, name: &str) -> Result<i64, StoreError> {
        let key = operator_key(name);
        if let Some(id) = self.cached(&self.operators, &key) {
            return Ok(id);
        }
        let _creating = self.creating.lock().await;
        if let Some(id) = self.cached(&self.operators, &key) {
            return Ok(id);
        }
        // Not seen by this process: an operator stored earlier may have another spelling.
        let known = self.store.operators().await?;
        let existing = known
            .iter()
            .find(|operator| operator_key(&operator.name) == key)
            .map(|operator| operator.id);
        let id = match existing {
            Some(id) => id,
            None => self.store.operator_id(name.trim()).await?,
        };
        self.lock(&self.operators).insert(key, id);
        Ok(id)
    }

    pub async fn network_type(&self, name: &str) -> Result<i64, StoreError> {
        if let Some(id) = self.cached(&self.network_types, name) {
            return Ok(id);
        }
        let id = self.store.network_type_id(name).await?;
        self.lock(&self.network_types).insert(name.to_owned(), id);
        Ok(id)
    }

    fn cached(&self, map: &Mutex<HashMap<String, i64>>, key: &str) -> Option<i64> {
        self.lock(map).get(key).copied()
    }

    fn lock<'a>(
        &self,
        map: &'a Mutex<HashMap<String, i64>>,
    ) -> std::sync::MutexGuard<'a, HashMap<String, i64>> {
        map.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_and_short_names_share_a_key() {
        assert_eq!(operator_key("MegaFon RUS"), operator_key("MegaFon"));
        assert_eq!(operator_key("MeGafon  RUS"), operator_key("megafon"));
        assert_eq!(operator_key("MTS RUS"), "mts");
        assert_eq!(operator_key("Beeline"), "beeline");
        assert_ne!(operator_key("Tele2 RU"), operator_key("MTS"));
        // A name that is only a country word stays itself.
        assert_eq!(operator_key("RUS"), "rus");
    }
}
