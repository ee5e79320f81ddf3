//! Settings: built-in defaults, overridden by the TOML file, overridden by `KORDON_*`
//! environment variables, overridden by command-line flags.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ipnet::IpNet;
use serde::Deserialize;

use crate::cli::CommonArgs;

/// Every setting with its final value.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// `tracing` filter, e.g. `info` or `kordon=debug,info`.
    pub log: String,
    /// `text` or `json`.
    pub log_format: String,
    /// Networks that may read `/metrics` without a key.
    pub metrics_allow: Vec<IpNet>,
    /// Seconds between store housekeeping runs (the `high` service).
    pub housekeeping_interval: u64,
    /// First superuser, created only when the store has no user.
    pub admin_username: String,
    pub admin_password: Option<String>,
    /// Services that answer with the caller's address in plain text, asked through each port
    /// for its external IP (in order, the first answer counts).
    pub echo_urls: Vec<String>,
    /// The address the proxy profiles' listeners bind (each on its profile's port).
    pub proxy_bind: IpAddr,
    /// Destinations proxies may reach although the guard refuses them (loopback, the farm's
    /// networks). Empty by default: a proxy never reaches the farm.
    pub proxy_permit_networks: Vec<IpNet>,
    /// Zone of the ipfilter API's `expires_time` (an IANA name); empty: the system's zone.
    pub ipfilter_timezone: String,
    /// Whether the ipfilter plane drives nftables (the in-process check runs regardless).
    pub ipfilter_nft: bool,
    /// kordon's nftables table (family `inet`); kordon touches no other table.
    pub ipfilter_table: String,
    /// Hooks of the table's chains: `input`, and `forward` to filter routed traffic too.
    pub ipfilter_hooks: Vec<String>,
}

/// Plain-HTTP "what is my IP" services (kordon's modem clients speak no TLS).
pub const DEFAULT_ECHO_URLS: [&str; 3] = [
    "http://api.ipify.org/",
    "http://ifconfig.me/ip",
    "http://icanhazip.com/",
];

impl Default for Settings {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./kordon-data"),
            listen: SocketAddr::from(([0, 0, 0, 0], 8000)),
            log: "info".into(),
            log_format: "text".into(),
            metrics_allow: vec![
                "127.0.0.0/8".parse().expect("literal"),
                "::1/128".parse().expect("literal"),
            ],
            housekeeping_interval: 600,
            admin_username: "admin".into(),
            admin_password: None,
            echo_urls: DEFAULT_ECHO_URLS
                .iter()
                .map(|url| url.to_string())
                .collect(),
            proxy_bind: IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            proxy_permit_networks: Vec::new(),
            ipfilter_timezone: String::new(),
            ipfilter_nft: true,
            ipfilter_table: "kordon_ipfilter".into(),
            ipfilter_hooks: vec!["input".into()],
        }
    }
}

/// The TOML file: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    log: Option<String>,
    log_format: Option<String>,
    metrics_allow: Option<Vec<IpNet>>,
    housekeeping_interval: Option<u64>,
    admin_username: Option<String>,
    admin_password: Option<String>,
    echo_urls: Option<Vec<String>>,
    proxy_bind: Option<IpAddr>,
    proxy_permit_networks: Option<Vec<IpNet>>,
    ipfilter_timezone: Option<String>,
    ipfilter_nft: Option<bool>,
    ipfilter_table: Option<String>,
    ipfilter_hooks: Option<Vec<String>>,
}

/// Where settings come from besides the flags: the process environment in production, a map in
/// tests.
pub trait Env {
    fn var(&self, key: &str) -> Option<String>;
}

pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

fn parse_env<T: std::str::FromStr>(env: &dyn Env, key: &str) -> Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    match env.var(key) {
        None => Ok(None),
        Some(text) => text
            .parse::<T>()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{key}={text:?}: {e}")),
    }
}

/// A comma-separated list of networks (`127.0.0.0/8,::1/128`); empty text is an empty list.
fn networks_env(env: &dyn Env, key: &str) -> Result<Option<Vec<IpNet>>> {
    let Some(text) = env.var(key) else {
        return Ok(None);
    };
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| part.parse::<IpNet>())
        .collect::<Result<_, _>>()
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{key}={text:?}: {e} (expected networks like 10.0.0.0/8)"))
}

impl Settings {
    pub fn load(common: &CommonArgs, listen: Option<SocketAddr>, env: &dyn Env) -> Result<Self> {
        let mut settings = Settings::default();
        let config_path = common
            .config
            .clone()
            .or_else(|| env.var("KORDON_CONFIG").map(PathBuf::from));
        if let Some(path) = config_path {
            settings.apply_file(&path)?;
        }
        settings.apply_env(env)?;
        if let Some(dir) = &common.data_dir {
            settings.data_dir = dir.clone();
        }
        if let Some(listen) = listen {
            settings.listen = listen;
        }
        settings.check()?;
        Ok(settings)
    }

    fn apply_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let file: FileSettings = toml::from_str(&text)
            .with_context(|| format!("invalid config file {}", path.display()))?;
        macro_rules! take {
            ($($field:ident),*) => { $(if let Some(v) = file.$field { self.$field = v; })* };
        }
        take!(
            data_dir,
            listen,
            log,
            log_format,
            metrics_allow,
            housekeeping_interval,
            admin_username,
            echo_urls,
            proxy_bind,
            proxy_permit_networks,
            ipfilter_timezone,
            ipfilter_nft,
            ipfilter_table,
            ipfilter_hooks
        );
        if file.admin_password.is_some() {
            self.admin_password = file.admin_password;
        }
        Ok(())
    }

    fn apply_env(&mut self, env: &dyn Env) -> Result<()> {
        if let Some(v) = parse_env(env, "KORDON_DATA_DIR")? {
            self.data_dir = v;
        }
        if let Some(v) = parse_env(env, "KORDON_LISTEN")? {
            self.listen = v;
        }
        if let Some(v) = env.var("KORDON_LOG") {
            self.log = v;
        }
        if let Some(v) = env.var("KORDON_LOG_FORMAT") {
            self.log_format = v;
        }
        if let Some(networks) = networks_env(env, "KORDON_METRICS_ALLOW")? {
            self.metrics_allow = networks;
        }
        if let Some(v) = parse_env(env, "KORDON_PROXY_BIND")? {
            self.proxy_bind = v;
        }
        if let Some(networks) = networks_env(env, "KORDON_PROXY_PERMIT_NETWORKS")? {
            self.proxy_permit_networks = networks;
        }
        if let Some(v) = parse_env(env, "KORDON_HOUSEKEEPING_INTERVAL")? {
            self.housekeeping_interval = v;
        }
        if let Some(v) = env.var("KORDON_ADMIN_USERNAME") {
            self.admin_username = v;
        }
        if let Some(v) = env.var("KORDON_ADMIN_PASSWORD") {
            self.admin_password = Some(v);
        }
        if let Some(text) = env.var("KORDON_ECHO_URLS") {
            self.echo_urls = text
                .split(',')
                .map(|url| url.trim().to_string())
                .filter(|url| !url.is_empty())
                .collect();
        }
        if let Some(v) = env.var("KORDON_IPFILTER_TIMEZONE") {
            self.ipfilter_timezone = v;
        }
        if let Some(text) = env.var("KORDON_IPFILTER_NFT") {
            self.ipfilter_nft = match text.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => true,
                "0" | "false" | "no" | "off" => false,
                _ => bail!("KORDON_IPFILTER_NFT={text:?}: expected true or false"),
            };
        }
        if let Some(v) = env.var("KORDON_IPFILTER_TABLE") {
            self.ipfilter_table = v;
        }
        if let Some(text) = env.var("KORDON_IPFILTER_HOOKS") {
            self.ipfilter_hooks = text
                .split(',')
                .map(|hook| hook.trim().to_string())
                .filter(|hook| !hook.is_empty())
                .collect();
        }
        Ok(())
    }

    /// The zone of the ipfilter API's dates: the setting, else the system's (`TZ`,
    /// `/etc/timezone`, the `/etc/localtime` link), else UTC.
    pub fn ipfilter_timezone(&self) -> Result<chrono_tz::Tz> {
        let name = self.ipfilter_timezone.trim();
        if !name.is_empty() {
            return name
                .parse()
                .map_err(|_| anyhow::anyhow!("unknown time zone {name:?}"));
        }
        Ok(system_timezone().unwrap_or(chrono_tz::UTC))
    }

    fn check(&self) -> Result<()> {
        if !matches!(self.log_format.as_str(), "text" | "json") {
            bail!(
                "log_format must be \"text\" or \"json\", not {:?}",
                self.log_format
            );
        }
        if self.housekeeping_interval == 0 {
            bail!("housekeeping_interval must be at least 1 second");
        }
        self.ipfilter_timezone().context("ipfilter_timezone")?;
        if !kordon_netfilter::ipfilter::valid_table_name(&self.ipfilter_table) {
            bail!(
                "ipfilter_table {:?} is not a table name (a letter, then letters, digits or _)",
                self.ipfilter_table
            );
        }
        if self.ipfilter_hooks.is_empty() {
            bail!("ipfilter_hooks needs at least one of input, forward");
        }
        for hook in &self.ipfilter_hooks {
            if kordon_netfilter::ipfilter::Hook::parse(hook).is_none() {
                bail!("ipfilter_hooks: {hook:?} is not input or forward");
            }
        }
        for url in &self.echo_urls {
            match reqwest::Url::parse(url) {
                Ok(parsed) if parsed.scheme() == "http" => {}
                _ => bail!("echo_urls: {url:?} is not an http:// URL"),
            }
        }
        Ok(())
    }
}

/// The system's time zone, if it can be told.
fn system_timezone() -> Option<chrono_tz::Tz> {
    let from_env = std::env::var("TZ")
        .ok()
        .map(|tz| tz.trim_start_matches(':').to_string());
    let from_file = || {
        std::fs::read_to_string("/etc/timezone")
            .ok()
            .map(|t| t.trim().to_string())
    };
    let from_link = || {
        std::fs::read_link("/etc/localtime")
            .ok()
            .and_then(|target| {
                let text = target.to_string_lossy().into_owned();
                text.split_once("zoneinfo/")
                    .map(|(_, zone)| zone.to_string())
            })
    };
    [from_env, from_file(), from_link()]
        .into_iter()
        .flatten()
        .find_map(|name| name.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct MapEnv(HashMap<&'static str, &'static str>);

    impl Env for MapEnv {
        fn var(&self, key: &str) -> Option<String> {
            self.0.get(key).map(|v| v.to_string())
        }
    }

    #[test]
    fn defaults_file_env_flags_in_that_order() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kordon.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/from/file\"\nlog = \"debug\"\n",
        )
        .unwrap();
        let env = MapEnv(HashMap::from([
            ("KORDON_DATA_DIR", "/from/env"),
            ("KORDON_HOUSEKEEPING_INTERVAL", "30"),
        ]));
        let common = CommonArgs {
            config: Some(file),
            data_dir: None,
        };
        let settings = Settings::load(&common, None, &env).unwrap();
        assert_eq!(settings.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(settings.data_dir, PathBuf::from("/from/env"));
        assert_eq!(settings.log, "debug");
        assert_eq!(settings.housekeeping_interval, 30);

        let flagged = Settings::load(
            &CommonArgs {
                data_dir: Some("/from/flag".into()),
                ..common
            },
            Some("127.0.0.1:1".parse().unwrap()),
            &env,
        )
        .unwrap();
        assert_eq!(flagged.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(flagged.listen.port(), 1);
    }

    #[test]
    fn ipfilter_settings() {
        let env = MapEnv(HashMap::from([
            ("KORDON_IPFILTER_TIMEZONE", "Europe/Moscow"),
            ("KORDON_IPFILTER_NFT", "false"),
            ("KORDON_IPFILTER_HOOKS", "input, forward"),
        ]));
        let settings = Settings::load(&CommonArgs::default(), None, &env).unwrap();
        assert_eq!(
            settings.ipfilter_timezone().unwrap(),
            chrono_tz::Europe::Moscow
        );
        assert!(!settings.ipfilter_nft);
        assert_eq!(settings.ipfilter_hooks, vec!["input", "forward"]);
        assert_eq!(settings.ipfilter_table, "kordon_ipfilter");
        for (key, value) in [
            ("KORDON_IPFILTER_TIMEZONE", "Mars/Olympus"),
            ("KORDON_IPFILTER_HOOKS", "output"),
            ("KORDON_IPFILTER_TABLE", "no spaces"),
            ("KORDON_IPFILTER_NFT", "maybe"),
        ] {
            let env = MapEnv(HashMap::from([(key, value)]));
            let error = Settings::load(&CommonArgs::default(), None, &env).unwrap_err();
            // The message names the setting (`ipfilter_…`).
            let text = format!("{error:#}").to_ascii_lowercase();
            assert!(
                text.contains(&key["KORDON_".len()..].to_ascii_lowercase()),
                "{key}: {error:#}"
            );
        }
    }

    #[test]
    fn bad_values_are_named() {
        let env = MapEnv(HashMap::from([("KORDON_LISTEN", "nowhere")]));
        let error = Settings::load(&CommonArgs::default(), None, &env).unwrap_err();
        assert!(error.to_string().contains("KORDON_LISTEN"), "{error}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("k.toml");
        std::fs::write(&file, "lisen = \"x\"").unwrap();
        let common = CommonArgs {
            config: Some(file),
            data_dir: None,
        };
        let error = Settings::load(&common, None, &MapEnv(HashMap::new())).unwrap_err();
        assert!(format!("{error:#}").contains("lisen"), "{error:#}");
    }
}
