//! Reading a port's settings from an `add` or `edit` body, with every problem of the request
//! collected before anything is written.

use kordon_model::coerce::Input;
use kordon_model::enums::{NetMode, ReconnectType};
use kordon_model::rules::{self, Rule};
use kordon_store::ports::{Port, PortFields, PortRefs};
use kordon_store::Store;

use crate::farm::reply::{ApiError, ApiResult};

pub const MSG_OSFP_REQUIRED: &str = "This field is required when is_osfp is true.";
pub const MSG_USERS_SUPERUSER: &str =
    "Only a superuser may change the users a port is delegated to.";
pub const MSG_IFNAME_SUPERUSER: &str = "Only a superuser may move a port to another interface.";
pub const MSG_INTERVAL_POSITIVE: &str =
    "Must be greater than 0 when reconnect_type is \"time\" or \"time_link\".";

fn apply(input: &mut Input, field: &str, verdict: Rule) {
    if let Err(message) = verdict {
        input.error(field, message);
    }
}

/// One of an enum's spellings, or an error naming the accepted ones.
fn choice<T>(
    input: &mut Input,
    field: &str,
    parse: fn(&str) -> Option<T>,
    choices: fn() -> String,
) -> Option<T> {
    let text = input.req_str(field)?;
    let parsed = parse(text.trim());
    if parsed.is_none() {
        input.error(
            field,
            format!("\"{text}\" is not a valid choice; use {}.", choices()),
        );
    }
    parsed
}

fn dedup(ids: Vec<i64>) -> Vec<i64> {
    let mut seen = std::collections::HashSet::new();
    ids.into_iter().filter(|id| seen.insert(*id)).collect()
}

/// Who is writing: a superuser may set anything; a user the port is delegated to may not
/// re-delegate it nor bind it to other hardware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    Superuser,
    Delegate,
}

/// Reads and checks all settings. On an edit, `current` is the port as it is: the optional
/// fields a client leaves out (`osfp`, `users`, `reconnect_interval`) keep their values, as a
/// Django REST Framework update keeps fields absent from the request.
pub async fn read_port_fields(
    store: &Store,
    mut input: Input,
    current: Option<&Port>,
    writer: Writer,
) -> ApiResult<PortFields> {
    let name = input.req_str("name").map(|n| n.trim().to_string());
    if let Some(name) = &name {
        apply(&mut input, "name", rules::name(name));
    }
    let active = input.req_bool("active");
    let model_id = input.req_int("type");
    let net_mode = choice(&mut input, "net_mode", NetMode::parse, NetMode::choices);
    let monitoring_interval = input.req_int("monitoring_interval");
    if let Some(value) = monitoring_interval {
        apply(
            &mut input,
            "monitoring_interval",
            rules::monitoring_interval(value),
        );
    }
    let is_osfp = input.req_bool("is_osfp");
    let osfp_id = if input.raw("osfp").is_some() {
        input.opt_int("osfp")
    } else {
        current.and_then(|port| port.osfp_id)
    };
    if is_osfp == Some(true) && osfp_id.is_none() && !input.errors().has("osfp") {
        input.error("osfp", MSG_OSFP_REQUIRED);
    }
    let ifname = input.req_str("ifname").map(|n| n.trim().to_string());
    if let Some(ifname) = &ifname {
        apply(&mut input, "ifname", rules::ifname(ifname));
    }
    let mtu = input.req_int("mtu");
    if let Some(value) = mtu {
        apply(&mut input, "mtu", rules::mtu(value));
    }
    let reconnect_type = choice(
        &mut input,
        "reconnect_type",
        ReconnectType::parse,
        ReconnectType::choices,
    );
    let reconnect_interval = read_interval(&mut input, reconnect_type, current);
    let reconnect_min = input.req_int("reconnect_min");
    if let Some(value) = reconnect_min {
        apply(&mut input, "reconnect_min", rules::seconds(value));
    }
    let mut users = if input.has("users") {
        input.opt_int_list("users").map(dedup)
    } else {
        None
    };
    let mut check_ifname = !input.errors().has("ifname");
    if writer == Writer::Delegate {
        // A delegate sees only themself in `users` (see view): sending that back unchanged is
        // no change. Anything else is refused without looking the ids up, so the reply tells
        // nothing about which users or interfaces exist.
        if let (Some(sent), Some(port)) = (&users, current) {
            let mut sent = sent.clone();
            sent.sort_unstable();
            if sent != port.users {
                input.error("users", MSG_USERS_SUPERUSER);
            }
        }
        users = None;
        if let (Some(ifname), Some(port)) = (&ifname, current) {
            if *ifname != port.ifname {
                input.error("ifname", MSG_IFNAME_SUPERUSER);
                check_ifname = false;
            }
        }
    }

    let refs = PortRefs {
        model_id,
        osfp_id,
        users: users.as_deref(),
        ifname: ifname.as_deref().filter(|_| check_ifname),
    };
    let reference_errors = store
        .port_reference_errors(&refs, current.map(|port| port.id))
        .await?;
    for (field, messages) in reference_errors.fields() {
        for message in messages {
            input.error(field, message.clone());
        }
    }
    input.check()?;

    match (
        name,
        active,
        model_id,
        net_mode,
        monitoring_interval,
        is_osfp,
        ifname,
        mtu,
        reconnect_type,
        reconnect_interval,
        reconnect_min,
    ) {
        (
            Some(name),
            Some(active),
            Some(model_id),
            Some(net_mode),
            Some(monitoring_interval),
            Some(is_osfp),
            Some(ifname),
            Some(mtu),
            Some(reconnect_type),
            Some(reconnect_interval),
            Some(reconnect_min),
        ) => Ok(PortFields {
            name,
            active,
            model_id,
            net_mode,
            monitoring_interval,
            is_osfp,
            osfp_id,
            ifname,
            mtu,
            reconnect_type,
            reconnect_interval,
            reconnect_min,
            users,
        }),
        _ => Err(ApiError::Internal(
            "port fields passed their checks but one is missing".into(),
        )),
    }
}

/// `reconnect_interval`: required and positive for timed rotation; without it a link-only
/// port gets 0 (new) or keeps its value (edit).
fn read_interval(
    input: &mut Input,
    reconnect_type: Option<ReconnectType>,
    current: Option<&Port>,
) -> Option<i64> {
    let timed = reconnect_type.is_some_and(ReconnectType::is_timed);
    let value = if input.raw("reconnect_interval").is_some() {
        let value = input.opt_int("reconnect_interval");
        if value.is_none() && !input.errors().has("reconnect_interval") && timed {
            input.error("reconnect_interval", kordon_model::coerce::MSG_NULL);
        }
        value
    } else if let Some(port) = current {
        Some(port.reconnect_interval)
    } else if timed {
        input.error("reconnect_interval", kordon_model::coerce::MSG_REQUIRED);
        None
    } else {
        Some(0)
    };
    let value = match value {
        Some(v) => v,
        // Sent as null for a link-only port: nothing to rotate on, so 0.
        None if !timed && !input.errors().has("reconnect_interval") => 0,
        None => return None,
    };
    if let Err(message) = rules::seconds(value) {
        input.error("reconnect_interval", message);
        return None;
    }
    if timed && value == 0 {
        input.error("reconnect_interval", MSG_INTERVAL_POSITIVE);
        return None;
    }
    Some(value)
}
