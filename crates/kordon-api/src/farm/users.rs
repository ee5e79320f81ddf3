//! Panel users (superusers only): `POST /api/users/add`, `GET|POST /api/users/edit/{id}`,
//! `POST /api/users/list`, `POST /api/users/active`, `POST /api/users/del`.
//!
//! Decisions beyond the document: `is_superuser`/`is_staff` are not API fields (users made here
//! are plain panel users, an edit keeps the flag); the caller cannot deactivate or delete
//! themselves, nor leave kordon without an active superuser (field error on `id`, or on
//! `is_active` for an edit); an empty `password` on edit keeps the password.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::Router;
use chrono_tz::Tz;
use kordon_model::coerce::Input;
use kordon_model::filter::{parse_filter, parse_page, SortDir};
use kordon_model::{rules, rutime, FieldErrors};
use kordon_store::listing;
use kordon_store::users::{User, UserFields, USER_SORTS};
use kordon_store::Store;
use serde_json::{json, Value};

use super::auth::Caller;
use super::body::Body;
use super::reply::{self, ApiError, ApiResult};
use crate::AppState;

/// Django's limit for first and last names.
const NAME_MAX: usize = 150;
const PHONE_MAX: usize = 32;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/users/add", post(add))
        .route("/api/users/edit/{id}", get(read).post(edit))
        .route("/api/users/list", post(list))
        .route("/api/users/active", post(set_active))
        .route("/api/users/del", post(delete))
}

/// A user as the document shows it; dates in the reader's zone, never the password hash.
fn user_json(user: &User, tz: Tz) -> Value {
    json!({
        "id": user.id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_staff": user.is_staff,
        "is_active": user.is_active,
        "is_superuser": user.is_superuser,
        "userprofile": {
            "phone": user.phone,
            "timezone": user.timezone,
        },
        "date_joined": rutime::format(user.date_joined, tz),
    })
}

/// Records `rule`'s message under `field` when it fails.
fn apply(input: &mut Input, field: &str, rule: rules::Rule) {
    if let Err(message) = rule {
        input.error(field, message);
    }
}

fn at_most(input: &mut Input, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        input.error(
            field,
            format!("Ensure this field has no more than {max} characters."),
        );
    }
}

/// Reads the add/edit form. On edit (`editing = Some(id)`) an empty or absent password keeps
/// the current one. Uniqueness conflicts are reported together with every other field error.
async fn read_form(store: &Store, body: Body, editing: Option<i64>) -> ApiResult<UserFields> {
    let mut input = body.input();
    let username = input.req_str("username").map(|s| s.trim().to_string());
    if let Some(username) = &username {
        apply(&mut input, "username", rules::username(username));
    }
    let password = if editing.is_some() {
        input.opt_str("password").filter(|p| !p.is_empty())
    } else {
        input.req_str("password")
    };
    let per_password = if editing.is_some() {
        input.opt_str("per_password")
    } else {
        input.req_str("per_password")
    };
    if let Some(password) = &password {
        apply(&mut input, "password", rules::user_password(password));
    }
    match (&password, &per_password) {
        (_, Some(repeat)) if repeat != password.as_deref().unwrap_or_default() => {
            input.error("per_password", "The two password fields didn't match.");
        }
        (Some(_), None) if !input.errors().has("per_password") => {
            input.error("per_password", kordon_model::coerce::MSG_REQUIRED);
        }
        _ => {}
    }
    let email = input.req_str("email").map(|s| s.trim().to_string());
    if let Some(email) = &email {
        apply(&mut input, "email", rules::email(email));
    }
    let first_name = input
        .opt_str("first_name")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    at_most(&mut input, "first_name", &first_name, NAME_MAX);
    let last_name = input
        .opt_str("last_name")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    at_most(&mut input, "last_name", &last_name, NAME_MAX);
    let is_active = input.req_bool("is_active");
    let (phone, timezone) = match input.object("userprofile", true) {
        Some(mut profile) => {
            let timezone = profile.req_str("timezone").map(|s| s.trim().to_string());
            if let Some(timezone) = &timezone {
                apply(&mut profile, "timezone", rules::timezone(timezone));
            }
            // The document's sample sends "" and shows it back as null.
            let phone = profile
                .opt_str("phone")
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty());
            if let Some(phone) = &phone {
                at_most(&mut profile, "phone", phone, PHONE_MAX);
                if phone.chars().any(char::is_control) {
                    profile.error("phone", "Phone may not contain control characters.");
                }
            }
            input.absorb("userprofile", profile);
            (phone, timezone)
        }
        None => (None, None),
    };
    if let (Some(username), Some(email)) = (&username, &email) {
        for (field, message) in store.user_conflicts(username, email, editing).await? {
            input.error(field, message);
        }
    }
    input.check()?;
    let (Some(username), Some(email), Some(is_active), Some(timezone)) =
        (username, email, is_active, timezone)
    else {
        return Err(ApiError::Internal("checked user fields missing".into()));
    };
    Ok(UserFields {
        username,
        password,
        email,
        first_name,
        last_name,
        is_active,
        is_superuser: false,
        phone,
        timezone,
    })
}

async fn add(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    caller.require_superuser()?;
    let fields = read_form(&state.store, body, None).await?;
    let user = state.store.create_user(&fields).await?;
    tracing::info!(user = %user.username, by = %caller.user.username, "panel user created");
    Ok(reply::json(user_json(&user, caller.tz())))
}

/// The `{id}` of an edit path; anything but an integer names no user.
fn path_id(raw: &str) -> ApiResult<i64> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("No user with id {raw}.")))
}

async fn read(State(state): State<AppState>, caller: Caller, Path(id): Path<String>) -> ApiResult {
    caller.require_superuser()?;
    let id = path_id(&id)?;
    let user = state.store.user(id).await?;
    Ok(reply::json(user_json(&user, caller.tz())))
}

async fn edit(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Body,
) -> ApiResult {
    caller.require_superuser()?;
    let id = path_id(&id)?;
    let current = state.store.user(id).await?;
    let fields = read_form(&state.store, body, Some(id)).await?;
    if current.is_active && !fields.is_active {
        check_may_disable(&state.store, &caller, &[id], "is_active").await?;
    }
    let user = state.store.update_user(id, &fields).await?;
    tracing::info!(user = %user.username, by = %caller.user.username, "panel user edited");
    Ok(reply::json(user_json(&user, caller.tz())))
}

/// Refuses to deactivate or delete the caller, or the last active superusers.
async fn check_may_disable(
    store: &Store,
    caller: &Caller,
    ids: &[i64],
    field: &str,
) -> ApiResult<()> {
    if ids.contains(&caller.id()) {
        return Err(ApiError::field(
            field,
            "You cannot deactivate or delete your own account.",
        ));
    }
    if store.other_active_superusers(ids).await? == 0 {
        return Err(ApiError::field(
            field,
            "At least one active superuser must remain.",
        ));
    }
    Ok(())
}

async fn list(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    caller.require_superuser()?;
    // The document gives this list no filter keys: any filter is an unknown key.
    let mut errors = FieldErrors::new();
    let filter = parse_filter(body.get("filter"), &[], caller.tz()).map_err(|e| errors.merge(e));
    let sortable = listing::sortable(USER_SORTS);
    let page = parse_page(body.get("pagination"), &sortable, SortDir::Asc)
        .map_err(|e| errors.merge(e))
        .ok();
    let page = match (filter, page) {
        (Ok(_), Some(page)) if errors.is_empty() => page,
        _ => return Err(ApiError::Invalid(errors)),
    };
    let (total, users) = state.store.list_users(&page).await?;
    let tz = caller.tz();
    let data: Vec<Value> = users.iter().map(|u| user_json(u, tz)).collect();
    Ok(reply::json(
        json!({ "meta": page.meta(total), "data": data }),
    ))
}

/// The `id` list of a batch action, without repeats.
fn read_ids(input: &mut Input) -> Vec<i64> {
    let mut ids = input.req_int_list("id").unwrap_or_default();
    ids.sort_unstable();
    ids.dedup();
    ids
}

async fn set_active(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    caller.require_superuser()?;
    let mut input = body.input();
    let ids = read_ids(&mut input);
    let active = input.req_bool("active");
    input.check()?;
    let Some(active) = active else {
        return Err(ApiError::Internal("checked field missing".into()));
    };
    if !active {
        check_may_disable(&state.store, &caller, &ids, "id").await?;
    }
    state.store.set_users_active(&ids, active).await?;
    tracing::info!(?ids, active, by = %caller.user.username, "panel users (de)activated");
    Ok(reply::ok())
}

async fn delete(State(state): State<AppState>, caller: Caller, body: Body) -> ApiResult {
    caller.require_superuser()?;
    let mut input = body.input();
    let ids = read_ids(&mut input);
    input.check()?;
    check_may_disable(&state.store, &caller, &ids, "id").await?;
    state.store.delete_users(&ids).await?;
    tracing::info!(?ids, by = %caller.user.username, "panel users deleted");
    Ok(reply::ok())
}
