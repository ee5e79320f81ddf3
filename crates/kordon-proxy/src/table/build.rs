//! From the store's rows to a [`ProxyTable`]. A row the plane cannot serve (a listen port out
//! of range, an unknown type, a `strong` profile without its login) is left out with a
//! warning rather than failing the whole table: the other profiles keep working.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

use kordon_model::enums::{ProxyAuth, ProxyType};
use kordon_store::proxy_plane::PlaneProfile;

use super::profile::canonical;
use super::{
    Auth, Credentials, DomainSet, Egress, LoginRates, PortRule, Profile, ProxyTable, SiteRule,
    DEFAULT_MAXCONN,
};

pub(super) fn from_rows(rows: Vec<PlaneProfile>) -> ProxyTable {
    let mut profiles = BTreeMap::new();
    let mut logins = HashMap::new();
    for row in rows {
        let id = row.id;
        match profile(row, &mut logins) {
            Ok(profile) => {
                profiles.insert(profile.listen_port, Arc::new(profile));
            }
            Err(reason) => tracing::warn!(profile = id, reason, "proxy profile not served"),
        }
    }
    ProxyTable { profiles, logins }
}

fn profile(row: PlaneProfile, logins: &mut HashMap<i64, LoginRates>) -> Result<Profile, String> {
    let listen_port = u16::try_from(row.listen_port)
        .ok()
        .filter(|port| *port != 0)
        .ok_or_else(|| format!("listen port {} out of range", row.listen_port))?;
    let proxy_type = ProxyType::parse(&row.proxy_type)
        .ok_or_else(|| format!("unknown type {:?}", row.proxy_type))?;
    let auth = match ProxyAuth::parse(&row.auth) {
        Some(ProxyAuth::Strong) => {
            let login = row
                .login
                .ok_or_else(|| "strong auth without a login".to_string())?;
            logins.insert(
                login.id,
                LoginRates {
                    bitrate_in: rate(login.bitrate_in),
                    bitrate_out: rate(login.bitrate_out),
                },
            );
            Auth::Strong(Credentials::new(login.id, login.login, login.password))
        }
        Some(ProxyAuth::IpOnly) => Auth::IpOnly(client_addresses(row.id, &row.client_ips)),
        None => return Err(format!("unknown auth {:?}", row.auth)),
    };
    Ok(Profile {
        id: row.id,
        listen_port,
        proxy_type,
        auth,
        egress: Egress {
            port_id: row.port_id,
            ifname: row.ifname,
            active: row.port_active,
        },
        is_local: row.is_local,
        maxconn: maxconn(row.maxconn),
        sites: SiteRule {
            is_allow: row.is_allow,
            domains: DomainSet::new(&row.domains),
        },
        target_ports: PortRule {
            is_ports: row.is_ports,
            ports: row
                .target_ports
                .iter()
                .filter_map(|port| u16::try_from(*port).ok())
                .collect(),
        },
    })
}

/// A negative cap is not a cap.
fn rate(bits_per_second: i64) -> u64 {
    u64::try_from(bits_per_second).unwrap_or(0)
}

/// `maxconn` 0 means the API's default; so does anything that is not a positive count.
fn maxconn(value: i64) -> usize {
    usize::try_from(value)
        .ok()
        .filter(|count| *count > 0)
        .unwrap_or(DEFAULT_MAXCONN)
}

/// Addresses that do not parse are dropped (they could never match a client anyway).
fn client_addresses(profile: i64, texts: &[String]) -> HashSet<IpAddr> {
    texts
        .iter()
        .filter_map(|text| match text.trim().parse::<IpAddr>() {
            Ok(address) => Some(canonical(address)),
            Err(_) => {
                tracing::warn!(profile, address = %text, "unreadable client IP ignored");
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maxconn_zero_and_negative_mean_default() {
        assert_eq!(maxconn(0), DEFAULT_MAXCONN);
        assert_eq!(maxconn(-3), DEFAULT_MAXCONN);
        assert_eq!(maxconn(7), 7);
        assert_eq!(rate(-1), 0);
    }
}
