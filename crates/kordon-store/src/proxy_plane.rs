//! What the proxy data plane serves: every active profile with its port's interface, its login,
//! client IPs, site list domains and target ports, in one query. The plane builds its
//! immutable table from it on each change event and never reads the store per connection.

use serde::Deserialize;

use crate::json_rows::{self, flag};
use crate::{Result, Store};

/// A strong profile's login and its bitrate caps (bits per second, 0 = unlimited).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PlaneLogin {
    pub id: i64,
    pub login: String,
    pub password: String,
    pub bitrate_in: i64,
    pub bitrate_out: i64,
}

/// One active profile as the data plane needs it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PlaneProfile {
    pub id: i64,
    pub listen_port: i64,
    #[serde(rename = "type")]
    pub proxy_type: String,
    pub auth: String,
    #[serde(deserialize_with = "flag")]
    pub is_local: bool,
    pub maxconn: i64,
    #[serde(deserialize_with = "flag")]
    pub is_allow: bool,
    #[serde(deserialize_with = "flag")]
    pub is_ports: bool,
    pub port_id: i64,
    pub ifname: String,
    #[serde(deserialize_with = "flag")]
    pub port_active: bool,
    pub login: Option<PlaneLogin>,
    /// Client IPs of an `iponly` profile, as stored (canonical text).
    pub client_ips: Vec<String>,
    /// Every domain of every site list the profile points to, once each.
    pub domains: Vec<String>,
    pub target_ports: Vec<i64>,
}

/// Nested values come from subqueries as JSONB so they nest as JSON, not as strings (see
/// `proxies::list`).
const PLANE_JSON: &str = "json_object(\
    'id', p.id, 'listen_port', p.listen_port, 'type', p.type, 'auth', p.auth, \
    'is_local', p.is_local, 'maxconn', p.maxconn, 'is_allow', p.is_allow, \
    'is_ports', p.is_ports, 'port_id', m.id, 'ifname', m.ifname, 'port_active', m.active, \
    'login', (SELECT jsonb_object('id', id, 'login', login, 'password', password, \
        'bitrate_in', bitrate_in, 'bitrate_out', bitrate_out) \
        FROM proxy_logins WHERE id = p.login_id), \
    'client_ips', (SELECT jsonb_group_array(pi.ip ORDER BY pi.id) \
        FROM proxy_auth_ips pa JOIN proxy_ips pi ON pi.id = pa.ip_id \
        WHERE pa.proxy_id = p.id), \
    'domains', (SELECT jsonb_group_array(DISTINCT d.domain) \
        FROM proxy_allow a JOIN site_list_domains d ON d.list_id = a.list_id \
        WHERE a.proxy_id = p.id), \
    'target_ports', (SELECT jsonb_group_array(port ORDER BY port) \
        FROM proxy_target_ports WHERE proxy_id = p.id))";

impl Store {
    /// Every active profile (whatever its port's state), by listen port.
    pub async fn proxy_plane_profiles(&self) -> Result<Vec<PlaneProfile>> {
        let rows: Vec<String> = sqlx::query_scalar(&format!(
            "SELECT {PLANE_JSON} FROM proxies p JOIN ports m ON m.id = p.port_id \
             WHERE p.active = 1 ORDER BY p.listen_port"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|row| json_rows::decode(row)).collect()
    }
}
