//! A store in a temporary directory with the objects the table tests build on, all created
//! through the store's own methods; a free loopback port; the root check of the loopback tests.

#![allow(dead_code)]

use kordon_model::enums::{NetMode, ProxyAuth, ProxyType, ReconnectType};
use kordon_store::ports::PortFields;
use kordon_store::proxies::ProxyFields;
use kordon_store::proxy_logins::LoginFields;
use kordon_store::users::UserFields;
use kordon_store::{Scope, Store};
use tempfile::TempDir;

pub struct Farm {
    pub store: Store,
    pub owner: i64,
    /// Dropped last: the database lives in it.
    _dir: TempDir,
}

impl Farm {
    pub async fn new() -> Farm {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_dir(dir.path()).await.unwrap();
        let owner = store
            .create_user(&UserFields {
                username: "operator".into(),
                password: Some("Operat0r-pass".into()),
                email: "operator@example.net".into(),
                first_name: String::new(),
                last_name: String::new(),
                is_active: true,
                is_superuser: true,
                phone: None,
                timezone: "Europe/Moscow".into(),
            })
            .await
            .unwrap()
            .id;
        Farm {
            store,
            owner,
            _dir: dir,
        }
    }

    pub async fn port(&self, ifname: &str, active: bool) -> i64 {
        self.store
            .create_port(&PortFields {
                name: format!("port {ifname}"),
                active,
                model_id: 1,
                net_mode: NetMode::Lte,
                monitoring_interval: 10,
                is_osfp: false,
                osfp_id: None,
                ifname: ifname.into(),
                mtu: 1500,
                reconnect_type: ReconnectType::Link,
                reconnect_interval: 0,
                reconnect_min: 0,
                users: None,
            })
            .await
            .unwrap()
            .id
    }

    pub async fn login(&self, login: &str, bitrate_in: i64, bitrate_out: i64) -> i64 {
        self.store
            .create_proxy_login(
                self.owner,
                &LoginFields {
                    login: login.into(),
                    password: format!("{login}-pw"),
                    bitrate_in,
                    bitrate_out,
                },
            )
            .await
            .unwrap()
            .id
    }

    pub async fn client_ip(&self, ip: &str) -> i64 {
        self.store
            .create_proxy_ip(self.owner, ip, None)
            .await
            .unwrap()
            .id
    }

    pub async fn site_list(&self, domains: &[&str]) -> i64 {
        let domains: Vec<String> = domains.iter().map(|d| d.to_string()).collect();
        self.store
            .create_site_list(self.owner, "sites", &domains)
            .await
            .unwrap()
            .id
    }

    pub async fn profile(&self, fields: ProxyFields) -> i64 {
        self.store
            .create_proxy(Scope::All, &fields)
            .await
            .unwrap()
            .row
            .id
    }
}

/// A strong http profile with no rules; tests change what they need.
pub fn strong_http(port_id: i64, listen_port: i64, login_id: i64) -> ProxyFields {
    ProxyFields {
        port_id,
        active: true,
        proxy_type: ProxyType::Http,
        auth: ProxyAuth::Strong,
        listen_port,
        is_local: false,
        maxconn: 0,
        is_allow: true,
        is_ports: true,
        auth_ids: vec![login_id],
        allow_ids: Vec::new(),
        target_ports: Vec::new(),
    }
}

/// A loopback port free now (for a listener the test starts next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether the test must stop for want of root (`SO_BINDTODEVICE`): it says "skipped: needs
/// root", and with `CI=true` fails instead.
pub fn needs_root() -> bool {
    if nix::unistd::geteuid().is_root() {
        return false;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "needs root (CI=true makes this a failure)"
    );
    eprintln!("skipped: needs root");
    true
}
