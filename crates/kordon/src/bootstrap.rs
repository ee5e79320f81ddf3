//! The first superuser: created when the store has no user at all, from
//! `KORDON_ADMIN_USERNAME` / `KORDON_ADMIN_PASSWORD`, or with a generated password that is
//! printed once to the terminal (never to the log).

use anyhow::{Context, Result};
use kordon_store::users::UserFields;
use kordon_store::Store;
use rand::distributions::Alphanumeric;
use rand::Rng;

use crate::settings::Settings;

/// A random password that satisfies the panel's rule (letters and digits).
pub fn generate_password() -> String {
    loop {
        let candidate: String = rand::rngs::OsRng
            .sample_iter(&Alphanumeric)
            .take(20)
            .map(char::from)
            .collect();
        if kordon_model::rules::user_password(&candidate).is_ok() {
            return candidate;
        }
    }
}

/// Fields of a superuser account created outside the API.
pub fn superuser_fields(username: &str, password: String, email: Option<String>) -> UserFields {
    UserFields {
        username: username.to_string(),
        password: Some(password),
        email: email.unwrap_or_else(|| format!("{username}@localhost.localdomain")),
        first_name: String::new(),
        last_name: String::new(),
        is_active: true,
        is_superuser: true,
        phone: None,
        timezone: "Europe/Moscow".to_string(),
    }
}

/// Creates the first superuser if there is no user. Returns the generated password, if one was
/// generated, for the caller to print.
pub async fn ensure_admin(store: &Store, settings: &Settings) -> Result<Option<String>> {
    if store.user_count().await? > 0 {
        return Ok(None);
    }
    kordon_model::rules::username(&settings.admin_username)
        .map_err(|rule| anyhow::anyhow!("KORDON_ADMIN_USERNAME: {rule}"))?;
    let (password, generated) = match &settings.admin_password {
        Some(password) => {
            kordon_model::rules::user_password(password)
                .map_err(|rule| anyhow::anyhow!("KORDON_ADMIN_PASSWORD: {rule}"))?;
            (password.clone(), false)
        }
        None => (generate_password(), true),
    };
    store
        .create_user(&superuser_fields(
            &settings.admin_username,
            password.clone(),
            None,
        ))
        .await
        .context("cannot create the first superuser")?;
    tracing::info!(username = %settings.admin_username, "created the first superuser");
    Ok(generated.then_some(password))
}
