//! `kordon admin …`: create users and reset passwords directly in the store (recovery when no
//! one can log in).

use std::io::BufRead;

use anyhow::{bail, Context, Result};
use kordon_store::Store;

use crate::bootstrap;
use crate::cli::AdminAction;
use crate::settings::{ProcessEnv, Settings};

fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    kordon_model::rules::user_password(&password)
        .map_err(|rule| anyhow::anyhow!("password: {rule}"))?;
    Ok(password)
}

pub async fn run(action: AdminAction) -> Result<()> {
    match action {
        AdminAction::CreateUser {
            common,
            username,
            email,
            superuser,
            password_stdin,
        } => {
            let settings = Settings::load(&common, None, &ProcessEnv)?;
            kordon_model::rules::username(&username)
                .map_err(|rule| anyhow::anyhow!("username: {rule}"))?;
            if let Some(email) = &email {
                kordon_model::rules::email(email)
                    .map_err(|rule| anyhow::anyhow!("email: {rule}"))?;
            }
            let (password, generated) = if password_stdin {
                (read_password()?, false)
            } else {
                (bootstrap::generate_password(), true)
            };
            let store = Store::open_dir(&settings.data_dir).await?;
            let mut fields = bootstrap::superuser_fields(&username, password.clone(), email);
            fields.is_superuser = superuser;
            match store.create_user(&fields).await {
                Ok(user) => {
                    println!("created user \"{}\" (id {})", user.username, user.id);
                    if generated {
                        println!("password: {password}");
                    }
                }
                Err(kordon_store::StoreError::Conflict { field, message }) => {
                    bail!("{field}: {message}")
                }
                Err(other) => return Err(other.into()),
            }
            store.close().await;
        }
        AdminAction::SetPassword { common, username } => {
            let settings = Settings::load(&common, None, &ProcessEnv)?;
            let password = read_password()?;
            let store = Store::open_dir(&settings.data_dir).await?;
            match store.set_password(&username, &password).await {
                Ok(()) => println!("password of \"{username}\" changed; their keys are revoked"),
                Err(kordon_store::StoreError::Conflict { message, .. }) => bail!("{message}"),
                Err(other) => return Err(other.into()),
            }
            store.close().await;
        }
    }
    Ok(())
}
